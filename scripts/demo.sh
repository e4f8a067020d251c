#!/usr/bin/env bash
# Sets up and builds camure, then runs the main job: a local camurerun demo (shm-only, no network).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh" "$here/build"
b="$here/build"
if [[ -x $b/launcher/camurerun && -x $b/examples/hello_c ]]; then
  echo "+ camurerun -n 4 --tag-output examples/hello_c"
  "$b/launcher/camurerun" -n 4 --tag-output "$b/examples/hello_c"
  echo "+ camurerun -n 4 examples/bcast_cxx"
  "$b/launcher/camurerun" -n 4 "$b/examples/bcast_cxx"
else
  echo "demo: camurerun is not built yet in this tree" >&2
  exit 1
fi
