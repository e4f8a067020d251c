// Writes the seed corpus for fuzz_frame: one valid unkeyed frame of every type (and a few variants).
#include <cstdio>
#include <string>
#include <vector>

#include "runtime/net/frame.hpp"

using namespace camure::net;

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gen_frame_corpus <dir>\n");
    return 2;
  }
  Codec plain;
  int n = 0;
  auto emit = [&](FrameType t, std::uint32_t group, std::uint32_t sender, std::uint32_t aux, std::uint64_t seq,
                  std::vector<std::uint8_t> payload) {
    FrameHeader h;
    h.type = t;
    h.session = 1;
    h.epoch = 1;
    h.sender = sender;
    h.group = group;
    h.aux = aux;
    h.seq = seq;
    std::vector<std::uint8_t> out;
    plain.encode(h, payload, out);
    const std::string path = std::string(argv[1]) + "/seed-" + std::to_string(n++);
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    std::fwrite(out.data(), 1, out.size(), f);
    std::fclose(f);
    return true;
  };
  std::vector<std::uint8_t> chunks = {3, 0, 0, 0, 3, 0, 0, 0, 'a', 'b', 'c', 2, 0, 0, 0, 1, 0, 0, 0, 'x', 'y'};
  std::vector<std::uint8_t> view = {0, 0, 0, 0, 1, 0, 0, 0};
  std::vector<std::uint8_t> welcome = {2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
  std::vector<std::uint8_t> range(16, 0);
  range[8] = 3;
  std::vector<std::uint8_t> start(16, 0);
  start[0] = 1;
  bool ok = emit(FrameType::join, 0, 0, 0, 77, {}) && emit(FrameType::heartbeat, 0, 1, 0, 0, {}) &&
            emit(FrameType::heartbeat, 0, 0, 0, 0, {}) && emit(FrameType::leave, 0, 1, 0, 0, {}) &&
            emit(FrameType::evicted, 0, 0, 1, 0, {}) && emit(FrameType::group_join, 1, 1, 2, 0, {}) &&
            emit(FrameType::welcome, 1, 0, 2, 0, welcome) && emit(FrameType::view, 1, 0, 2, 3, view) &&
            emit(FrameType::group_leave, 1, 1, 0, 0, {}) && emit(FrameType::arrive, 0, 1, 0, 0, {}) &&
            emit(FrameType::release, 0, 0, 0, 0, {}) && emit(FrameType::data, 1, 0, 0, 0, chunks) &&
            emit(FrameType::data, 1, 0, 0, 1, chunks) && emit(FrameType::nak, 1, 1, 0, 0, range) &&
            emit(FrameType::ack, 1, 1, 0, 2, {}) && emit(FrameType::status, 1, 0, 0, 2, start) &&
            emit(FrameType::close, 0, 0, 1, 0, range) && emit(FrameType::close, 0, 0, 0, 0, {});
  return ok ? 0 : 1;
}
