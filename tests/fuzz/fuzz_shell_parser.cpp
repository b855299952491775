// libFuzzer target: kvsh's command parser reads whatever a user or a script
// types. It must answer with a command or an error, never crash, and a
// context it accepts must be a well-formed clock.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "apps/kvsh/shell_parser.hpp"
#include "messages/validation.hpp"

namespace {

void require(bool condition) {
  if (!condition)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view line{reinterpret_cast<const char*>(data), size};
  (void) kv::tokenize(line);
  auto parsed = kv::parse_command(line);
  if (!parsed.error) {
    auto& cmd = parsed.command;
    if (cmd.context_from == kv::context_source::given)
      require(!kv::clock_problem(cmd.context, SIZE_MAX));
    (void) kv::request_problem(cmd, 1 << 20);
  }
  (void) kv::parse_port(line);
  (void) kv::parse_unsigned(line, UINT64_MAX);
  return 0;
}
