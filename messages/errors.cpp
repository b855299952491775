#include "messages/errors.hpp"

namespace kv {

const char* to_string(kv_errc x) {
  switch (x) {
    case kv_errc::invalid_argument:
      return "invalid_argument";
    case kv_errc::key_too_large:
      return "key_too_large";
    case kv_errc::value_too_large:
      return "value_too_large";
    case kv_errc::too_many_siblings:
      return "too_many_siblings";
    case kv_errc::write_quorum_failed:
      return "write_quorum_failed";
    case kv_errc::read_quorum_failed:
      return "read_quorum_failed";
    case kv_errc::unavailable:
      return "unavailable";
    case kv_errc::storage_failure:
      return "storage_failure";
    case kv_errc::corrupt_record:
      return "corrupt_record";
    case kv_errc::duplicate_node:
      return "duplicate_node";
    case kv_errc::record_changed:
      return "record_changed";
    case kv_errc::other_cluster:
      return "other_cluster";
    case kv_errc::unnamed_cluster:
      return "unnamed_cluster";
    case kv_errc::not_authenticated:
      return "not_authenticated";
    case kv_errc::not_authorized:
      return "not_authorized";
  }
  return "unknown_error";
}

} // namespace kv
