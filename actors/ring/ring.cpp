#include "actors/ring/ring.hpp"

#include <algorithm>

namespace kv {

std::optional<std::string> ring::from_state(const ring_state& state,
                                            ring& out) {
  if (auto problem = ring_problem(state))
    return problem;
  ring result;
  if (state.version != 0) {
    if (auto problem = partition_map::from_assignment(
          state.partitions, state.replicas, state.current, result.current_))
      return problem;
    if (state.transition != 0)
      if (auto problem = partition_map::from_assignment(
            state.partitions, state.replicas, state.next, result.next_))
        return problem;
    if (!state.previous.empty())
      if (auto problem = partition_map::from_assignment(
            state.partitions, state.replicas, state.previous,
            result.previous_))
        return problem;
  }
  result.state_ = state;
  out = std::move(result);
  return std::nullopt;
}

std::vector<std::string> ring::also_written_to(std::string_view key,
                                               uint32_t n) const {
  std::vector<std::string> result;
  if (next_.empty() && previous_.empty())
    return result;
  auto now = current_.preference_list(key, n);
  for (auto* other : {&next_, &previous_})
    for (auto& id : other->preference_list(key, n))
      if (std::find(now.begin(), now.end(), id) == now.end()
          && std::find(result.begin(), result.end(), id) == result.end())
        result.push_back(id);
  return result;
}

std::vector<uint32_t> ring::incoming(std::string_view node_id) const {
  std::vector<uint32_t> result;
  if (!in_transition())
    return result;
  auto* in_next = next_.find(node_id);
  if (in_next == nullptr)
    return result;
  auto next_index = static_cast<uint16_t>(in_next - next_.members().data());
  auto* in_current = current_.find(node_id);
  for (uint32_t p = 0; p < next_.partition_count(); ++p) {
    auto* list = next_.replicas_of(p);
    if (std::find(list, list + next_.list_length(), next_index)
        == list + next_.list_length())
      continue;
    bool holds_now = false;
    if (in_current != nullptr) {
      auto index = static_cast<uint16_t>(in_current
                                         - current_.members().data());
      auto* now = current_.replicas_of(p);
      holds_now = std::find(now, now + current_.list_length(), index)
                  != now + current_.list_length();
    }
    if (!holds_now)
      result.push_back(p);
  }
  return result;
}

std::vector<std::string> ring::receivers() const {
  std::vector<std::string> result;
  for (auto& m : next_.members())
    if (!incoming(m.node_id).empty())
      result.push_back(m.node_id);
  return result;
}

} // namespace kv
