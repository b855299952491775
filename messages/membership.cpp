#include "messages/membership.hpp"

namespace kv {

const char* to_string(member_status x) {
  switch (x) {
    case member_status::up:
      return "up";
    case member_status::suspect:
      return "suspect";
    case member_status::down:
      return "down";
    case member_status::leaving:
      return "leaving";
  }
  return "?";
}

} // namespace kv
