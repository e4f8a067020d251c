#!/usr/bin/env bash
# Issue 2's foundation, end to end: `cmake --install` into a fresh prefix gives the headers,
# libcamure, a CMake package with a version file and camure.pc; a program built against the
# installed tree with find_package(camure) and one built with pkg-config both run (as a single
# rank, no camurerun), and a find_package asking for a newer version is refused.
# Usage: install_consumer.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "install_consumer: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in include/camure/camure.h include/camure/camure.hpp include/camure/session.hpp include/camure/rmp.hpp; do
  [[ -f $work/prefix/$f ]] || fail "missing $f after install"
done
lib=$(find "$work/prefix" -name 'libcamure.so*' | head -1)
[[ -n $lib ]] || fail "libcamure.so not installed"
cfg=$(find "$work/prefix" -name camureConfigVersion.cmake | head -1)
[[ -n $cfg ]] || fail "camureConfigVersion.cmake not installed"
pc=$(find "$work/prefix" -name camure.pc | head -1)
[[ -n $pc ]] || fail "camure.pc not installed"

mkdir -p "$work/src"
cat >"$work/src/app.cpp" <<'CPP'
#include <camure/camure.h>
#include <cstdio>
int main(int argc, char **argv) {
  if (camure_init(&argc, &argv) != 0) return 3;
  const int r = camure_rank(), n = camure_size();
  char b[4] = {1, 2, 3, 4};
  if (camure_barrier() != 0 || camure_bcast(b, sizeof b, 0) != 0) return 4;
  std::printf("rank %d of %d\n", r, n);
  return camure_finalize() == 0 ? 0 : 5;
}
CPP
cat >"$work/src/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer CXX)
set(WANT "0.1" CACHE STRING "version to ask for")
find_package(camure ${WANT} REQUIRED)
add_executable(app app.cpp)
target_link_libraries(app PRIVATE camure::camure)
CM
cmake -S "$work/src" -B "$work/b" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/b" >/dev/null
out=$("$work/b/app") || fail "CMake consumer failed: $out"
[[ $out == "rank 0 of 1" ]] || fail "CMake consumer printed '$out'"

if cmake -S "$work/src" -B "$work/b99" -DCMAKE_PREFIX_PATH="$work/prefix" -DWANT=99.0 >/dev/null 2>&1; then
  fail "find_package(camure 99.0) was accepted: the version file does not work"
fi

export PKG_CONFIG_PATH=$(dirname "$pc")
# shellcheck disable=SC2046
c++ -std=c++20 "$work/src/app.cpp" $(pkg-config --cflags --libs camure) -o "$work/app-pc"
out=$("$work/app-pc") || fail "pkg-config consumer failed: $out"
[[ $out == "rank 0 of 1" ]] || fail "pkg-config consumer printed '$out'"
echo "install_consumer: headers, libcamure, CMake package (version checked) and camure.pc all work"
