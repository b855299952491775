#include "actors/ring.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "actors/key_hash.hpp"

namespace kv {

namespace {

// Index of the first vnode at or after `position`, wrapping past the top of
// the hash space back to the first vnode. Requires a non-empty ring.
template <class Vnodes>
std::size_t first_at_or_after(const Vnodes& vnodes, uint64_t position) {
  auto it = std::lower_bound(
    vnodes.begin(), vnodes.end(), position,
    [](const auto& v, uint64_t p) { return v.token < p; });
  return it == vnodes.end() ? 0 : static_cast<std::size_t>(it - vnodes.begin());
}

// Which members a walk has met. Clusters are usually small enough for one
// word, which keeps the per-request path free of an extra allocation.
class member_set {
public:
  explicit member_set(std::size_t members) {
    if (members > 64)
      large_.assign(members, 0);
  }

  // Adds `member`; false if it was already there.
  bool insert(uint32_t member) {
    if (large_.empty()) {
      auto bit = uint64_t{1} << member;
      if (small_ & bit)
        return false;
      small_ |= bit;
      return true;
    }
    if (large_[member])
      return false;
    large_[member] = 1;
    return true;
  }

private:
  uint64_t small_ = 0;
  std::vector<char> large_;
};

} // namespace

ring::ring(std::vector<ring_member> members, uint64_t epoch)
  : members_(std::move(members)), epoch_(epoch) {
  // Every node must build the same ring from the same membership however it
  // learnt it, so canonicalise everything order can leak into.
  for (auto& m : members_) {
    std::sort(m.tokens.begin(), m.tokens.end());
    m.tokens.erase(std::unique(m.tokens.begin(), m.tokens.end()),
                   m.tokens.end());
  }
  std::sort(members_.begin(), members_.end(),
            [](const ring_member& a, const ring_member& b) {
              return std::tie(a.node_id, a.dc, a.tokens)
                     < std::tie(b.node_id, b.dc, b.tokens);
            });
  // A node listed twice keeps one entry; full ordering above makes the
  // survivor the same whichever order the duplicates arrived in.
  members_.erase(std::unique(members_.begin(), members_.end(),
                             [](const ring_member& a, const ring_member& b) {
                               return a.node_id == b.node_id;
                             }),
                 members_.end());
  std::size_t total = 0;
  for (const auto& m : members_)
    total += m.tokens.size();
  vnodes_.reserve(total);
  for (uint32_t i = 0; i < members_.size(); ++i)
    for (auto t : members_[i].tokens)
      vnodes_.push_back(vnode{t, i});
  // Members are sorted by id, so breaking token ties on the member index is
  // breaking them on the node id: the same winner on every node.
  std::sort(vnodes_.begin(), vnodes_.end(), [](const vnode& a, const vnode& b) {
    return a.token != b.token ? a.token < b.token : a.member < b.member;
  });
}

std::vector<uint64_t> ring::tokens_for(std::string_view node_id,
                                       uint32_t count) {
  std::vector<uint64_t> tokens;
  tokens.reserve(count);
  std::unordered_set<uint64_t> taken;
  taken.reserve(count);
  std::string base{node_id};
  base += '#';
  for (uint32_t i = 0; i < count; ++i) {
    auto label = base + std::to_string(i);
    auto t = stable_hash(label);
    // A collision would silently cost the node a vnode; re-salting with a
    // counter keeps the count exact and the result deterministic.
    for (uint32_t salt = 1; !taken.insert(t).second; ++salt)
      t = stable_hash(label + "#" + std::to_string(salt));
    tokens.push_back(t);
  }
  std::sort(tokens.begin(), tokens.end());
  return tokens;
}

uint64_t ring::position_of(std::string_view key) {
  return stable_hash(key);
}

const std::string& ring::owner_of(uint64_t position) const {
  static const std::string none;
  if (vnodes_.empty())
    return none;
  return members_[vnodes_[first_at_or_after(vnodes_, position)].member]
    .node_id;
}

std::vector<std::string> ring::preference_list(std::string_view key,
                                               uint32_t n) const {
  std::vector<std::string> result;
  if (vnodes_.empty() || n == 0)
    return result;
  const auto m = members_.size();
  const auto want = static_cast<uint32_t>(std::min<std::size_t>(n, m));
  // Distinct nodes in walk order, each flagged as the first of its DC
  // ("rep") or not. The choice is: the reps of the first min(n, #DCs) DCs,
  // then the earliest non-reps up to `want`.
  constexpr uint32_t rep_flag = uint32_t{1} << 31;
  std::vector<uint32_t> order;
  order.reserve(want + 4);
  member_set seen{m};
  uint32_t reps = 0;
  uint32_t others = 0;
  // Whether a DC without a rep may still turn up; only recomputed when the
  // rep count changes, since it can only flip from true to false.
  bool unseen_dc = true;
  uint32_t unseen_dc_checked_at = 0;
  auto rep_dc = [&](const std::string& dc) {
    for (auto e : order)
      if ((e & rep_flag) && members_[e & ~rep_flag].dc == dc)
        return true;
    return false;
  };
  auto done = [&] {
    if (reps == want || order.size() == m)
      return true;
    if (reps + others < want)
      return false;
    // Enough nodes, but a DC not yet represented would displace a non-rep.
    if (unseen_dc && unseen_dc_checked_at != reps) {
      unseen_dc_checked_at = reps;
      unseen_dc = std::any_of(
        members_.begin(), members_.end(), [&](const ring_member& x) {
          // A node without tokens is never reached, so its DC can't be.
          return !x.tokens.empty() && !rep_dc(x.dc);
        });
    }
    return !unseen_dc;
  };
  const auto start = first_at_or_after(vnodes_, position_of(key));
  const auto v = vnodes_.size();
  for (std::size_t step = 0; step < v && !done(); ++step) {
    auto idx = start + step;
    auto member = vnodes_[idx < v ? idx : idx - v].member;
    if (!seen.insert(member))
      continue;
    // Once `want` reps are chosen the walk has stopped, so every DC met so
    // far has a rep and "first of its DC" is a check against reps alone.
    if (rep_dc(members_[member].dc)) {
      order.push_back(member);
      ++others;
    } else {
      order.push_back(member | rep_flag);
      ++reps;
    }
  }
  uint32_t fill = want - std::min(reps, want);
  result.reserve(want);
  for (std::size_t i = 0; i < order.size() && result.size() < want; ++i) {
    if (order[i] & rep_flag) {
      result.push_back(members_[order[i] & ~rep_flag].node_id);
    } else if (fill > 0) {
      --fill;
      result.push_back(members_[order[i]].node_id);
    }
  }
  return result;
}

std::vector<std::string> ring::walk(std::string_view key, uint32_t n) const {
  auto result = preference_list(key, n);
  if (vnodes_.empty())
    return result;
  const auto m = members_.size();
  member_set seen{m};
  for (const auto& id : result)
    if (auto* p = find(id))
      seen.insert(static_cast<uint32_t>(p - members_.data()));
  result.reserve(m);
  const auto start = first_at_or_after(vnodes_, position_of(key));
  const auto v = vnodes_.size();
  for (std::size_t step = 0; step < v && result.size() < m; ++step) {
    auto idx = start + step;
    auto member = vnodes_[idx < v ? idx : idx - v].member;
    if (seen.insert(member))
      result.push_back(members_[member].node_id);
  }
  return result;
}

const ring_member* ring::find(std::string_view node_id) const {
  auto it = std::lower_bound(
    members_.begin(), members_.end(), node_id,
    [](const ring_member& m, std::string_view id) { return m.node_id < id; });
  if (it == members_.end() || it->node_id != node_id)
    return nullptr;
  return &*it;
}

ring make_ring(const std::vector<member_info>& members, uint64_t epoch) {
  std::vector<ring_member> ring_members;
  for (auto& m : members)
    if (m.status != member_status::leaving)
      ring_members.push_back(ring_member{m.node_id, m.dc, m.tokens});
  return ring{std::move(ring_members), epoch};
}

} // namespace kv
