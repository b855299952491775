#include "messages/request.hpp"

#include "messages/limits.hpp"

namespace kv {

request_options resolve(request_options opts,
                        const consistency_defaults& defaults) {
  if (opts.n == 0)
    opts.n = defaults.n;
  if (opts.r == 0)
    opts.r = defaults.r;
  if (opts.w == 0)
    opts.w = defaults.w;
  if (opts.timeout_ms == 0)
    opts.timeout_ms = defaults.timeout_ms;
  auto level = [&](uint32_t& x) {
    if (x == level_quorum)
      x = opts.n / 2 + 1;
    else if (x == level_all)
      x = opts.n;
  };
  level(opts.r);
  level(opts.w);
  return opts;
}

std::optional<std::string> key_problem(std::string_view key) {
  if (key.empty())
    return "the key is empty";
  if (key.size() > max_key_bytes)
    return "the key has " + std::to_string(key.size())
           + " bytes, the maximum is " + std::to_string(max_key_bytes);
  return std::nullopt;
}

std::optional<std::string> value_problem(std::string_view value,
                                         std::size_t max_value_bytes) {
  if (value.size() > max_value_bytes)
    return "the value has " + std::to_string(value.size())
           + " bytes, the maximum is " + std::to_string(max_value_bytes);
  return std::nullopt;
}

std::optional<std::string> context_problem(const vector_clock& context) {
  for (auto& e : context.entries()) {
    if (!valid_replica_id(e.node))
      return "the context names an invalid replica id";
    if (e.counter >= max_clock_counter)
      return "the context has counter " + std::to_string(e.counter) + " for "
             + e.node + ", beyond any real history";
  }
  return std::nullopt;
}

std::optional<std::string> options_problem(const request_options& resolved,
                                           std::size_t cluster_size) {
  auto n = std::to_string(resolved.n);
  if (resolved.n < 1)
    return std::string{"n must be at least 1"};
  if (resolved.r < 1 || resolved.r > resolved.n)
    return "r=" + std::to_string(resolved.r) + " must be between 1 and n=" + n;
  if (resolved.w < 1 || resolved.w > resolved.n)
    return "w=" + std::to_string(resolved.w) + " must be between 1 and n=" + n;
  if (resolved.timeout_ms > max_request_timeout_ms)
    return "timeout=" + std::to_string(resolved.timeout_ms)
           + " ms is above the maximum of "
           + std::to_string(max_request_timeout_ms) + " ms";
  if (resolved.n > cluster_size)
    return "n=" + n + " is more than the " + std::to_string(cluster_size)
           + " node(s) in the cluster";
  return std::nullopt;
}

std::string consistency_level_name(uint32_t value) {
  if (value == 0)
    return "default";
  if (value == level_quorum)
    return "quorum";
  if (value == level_all)
    return "all";
  return std::to_string(value);
}

} // namespace kv
