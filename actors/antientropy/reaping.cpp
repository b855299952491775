#include "actors/antientropy/reaping.hpp"

#include <algorithm>

#include "actors/ring/claimant.hpp"

namespace kv {

bool only_tombstones(const sibling_list& versions) {
  return !versions.empty()
         && std::all_of(versions.begin(), versions.end(),
                        [](const versioned_value& v) { return v.tombstone; });
}

bool superseded_by(const sibling_list& stored, const sibling_list& reaped) {
  // reconcile orders by origin and drops duplicates: both sides compare in
  // the same normal form.
  return reconcile(stored, reaped) == reconcile(reaped, {});
}

bool gone_for_good(const ring& current, const member_info& m) {
  return m.status == member_status::down && was_removed(current.state(), m);
}

std::optional<std::string> reap_blocker(const ring& current,
                                        const std::vector<member_info>& members,
                                        const std::string& self_id) {
  if (current.empty())
    return std::string{"no ring yet"};
  if (current.in_transition())
    return "a ring change is in transfer (version "
           + std::to_string(current.epoch()) + ")";
  if (current.draining())
    return std::string{"the last ring change is not routed by every node yet"};
  for (auto& id : current.state().current.ids) {
    auto known = std::any_of(members.begin(), members.end(),
                             [&](const member_info& m) { return m.node_id == id; });
    if (!known && id != self_id)
      return "ring member " + id + " is not known here yet";
  }
  for (auto& m : members) {
    if (m.node_id == self_id || gone_for_good(current, m))
      continue;
    if (m.status != member_status::up)
      return m.node_id + " is " + to_string(m.status);
    if (m.ring_epoch != current.epoch())
      return m.node_id + " holds ring version " + std::to_string(m.ring_epoch)
             + ", not " + std::to_string(current.epoch());
  }
  return std::nullopt;
}

reap_agreement::reap_agreement(std::vector<uint64_t> expected)
  : expected_(std::move(expected)), agreed_(expected_.size(), true) {
  // nop
}

void reap_agreement::replica_answer(const std::vector<uint64_t>& digests,
                                    const std::vector<uint32_t>& lost) {
  if (digests.size() != expected_.size())
    return no_answer();
  for (std::size_t i = 0; i < digests.size(); ++i)
    if (digests[i] != expected_[i])
      agreed_[i] = false;
  disagree(lost);
}

void reap_agreement::disagree(const std::vector<uint32_t>& indices) {
  for (auto i : indices)
    if (i < agreed_.size())
      agreed_[i] = false;
}

void reap_agreement::no_answer() {
  std::fill(agreed_.begin(), agreed_.end(), false);
}

std::vector<uint32_t> reap_agreement::agreed() const {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < agreed_.size(); ++i)
    if (agreed_[i])
      out.push_back(i);
  return out;
}

} // namespace kv
