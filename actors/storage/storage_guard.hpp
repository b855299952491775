#pragma once

#include <string>

#include "actors/log.hpp"
#include "messages/caf_types.hpp"
#include "persistence/storage_error.hpp"

namespace kv {

// Runs a storage operation of an actor that owns a table, turning engine
// exceptions into kv errors so the requester gets a reason instead of a dead
// actor. `actor` names the caller in the log; `unreadable` says what an
// unreadable record means for the requester.
template <class Result, class F>
Result guarded(const char* actor, const std::string& unreadable,
               F&& operation) {
  try {
    return operation();
  } catch (const unknown_format_error& e) {
    // Not damaged: written by a newer release. Left as it is.
    return make_kv_error(kv_errc::storage_failure,
                         std::string{"a record written by a newer release ("}
                           + e.what() + "); it is left untouched");
  } catch (const corrupt_record_error& e) {
    return make_kv_error(kv_errc::corrupt_record,
                         unreadable + " (" + e.what() + ")");
  } catch (const storage_error& e) {
    log_line(log_level::error,
             std::string{actor} + ": storage failure: " + e.what());
    return make_kv_error(kv_errc::storage_failure, e.what());
  }
}

} // namespace kv
