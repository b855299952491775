// libFuzzer target: the Redis gateway's RESP reader takes whatever a client
// sends. It must never crash, and it must cut the same commands (and stop
// at the same protocol error) whether the bytes arrive at once or in
// pieces of any size: a client cannot make the gateway see something else
// by splitting its writes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "actors/gateway/resp_codec.hpp"

namespace {

void require(bool condition) {
  if (!condition)
    std::abort();
}

struct outcome {
  std::vector<std::vector<std::string>> commands;
  bool failed = false;
  std::string error;
};

outcome read(const uint8_t* data, std::size_t size, std::size_t piece) {
  kv::resp::reader_limits limits;
  limits.max_arguments = 64;
  limits.max_bulk_bytes = 512;
  limits.max_command_bytes = 2048;
  limits.max_inline_bytes = 256;
  kv::resp::reader reader{limits};
  outcome out;
  std::vector<std::string> args;
  for (std::size_t at = 0; at < size && !out.failed; at += piece) {
    reader.feed(reinterpret_cast<const char*>(data) + at,
                std::min(piece, size - at));
    while (true) {
      auto got = reader.next(args);
      if (got == kv::resp::reader::status::incomplete)
        break;
      if (got == kv::resp::reader::status::protocol_error) {
        out.failed = true;
        out.error = reader.error();
        require(reader.next(args) == kv::resp::reader::status::protocol_error);
        break;
      }
      require(!args.empty());
      require(args.size() <= limits.max_arguments);
      for (auto& arg : args)
        require(arg.size() <= limits.max_bulk_bytes);
      out.commands.push_back(args);
    }
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  std::size_t piece = 1 + data[0] % 17;
  auto whole = read(data + 1, size - 1, size);
  auto split = read(data + 1, size - 1, piece);
  require(whole.failed == split.failed);
  require(whole.error == split.error);
  require(whole.commands == split.commands);
  return 0;
}
