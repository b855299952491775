#pragma once

// The operation log of a fault-injection run: one record per client request,
// written as a JSON line by the workload and read back by the checker. Plain
// C++ (no CAF), so the analysis is unit-tested over synthetic histories.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kv::check {

enum class op_kind {
  put,       // unique-key write (one writer per key, written once)
  remove,    // delete of a unique key, with the context its put returned
  set_read,  // read of a hot set key: siblings unioned by the client
  set_write, // write back of the union plus one new element, with the context
};

// What the client knows about the effect of a request. A write that timed
// out or missed its quorum may still have reached replicas: indeterminate,
// not failed. Failed means it certainly was not applied (never sent, or
// refused before any replica saw it).
enum class outcome { ok, failed, indeterminate };

struct op_record {
  uint64_t id = 0;
  uint32_t worker = 0;
  op_kind kind = op_kind::put;
  std::string key;
  std::string value; // put: the value; set_write: the element added
  std::string node;  // node id the client sent the request to
  uint64_t start_ms = 0; // wall clock of the client (never skewed)
  uint64_t end_ms = 0;
  outcome result = outcome::ok;
  std::string error;     // the error text when not ok
  uint32_t siblings = 0; // set_read: siblings in the reply
  uint32_t n = 0, r = 0, w = 0, timeout_ms = 0; // request options as sent
};

const char* to_string(op_kind x);
const char* to_string(outcome x);
std::optional<op_kind> parse_op_kind(const std::string& x);
std::optional<outcome> parse_outcome(const std::string& x);

// One JSON object, no newline.
std::string to_json(const op_record& op);

// The record of one JSON line, or nothing with `error` set.
std::optional<op_record> parse_op(const std::string& line, std::string& error);

// A JSON string literal (quotes included) for `text`.
std::string json_quote(const std::string& text);

// The elements of a set value: its words separated by single spaces.
std::vector<std::string> set_elements(const std::string& value);

// What happened to the cluster, as the orchestration script logs it (JSON
// lines): faults starting and ending, nodes going down (kill, SIGSTOP) and
// coming back, and the moment everything was healed.
struct cluster_event {
  uint64_t t_ms = 0;
  std::string type; // fault_start, fault_end, node_down, node_up, healed
  std::string name; // fault: nemesis name; node events: the node id
  std::string detail;
};

std::optional<cluster_event> parse_event(const std::string& line,
                                         std::string& error);

} // namespace kv::check
