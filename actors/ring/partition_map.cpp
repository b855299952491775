#include "actors/ring/partition_map.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "actors/key_hash.hpp"

namespace kv {

namespace {

uint32_t log2_exact(uint32_t x) {
  uint32_t r = 0;
  while ((uint32_t{1} << r) < x)
    ++r;
  return r;
}

// Spreads ties between equally loaded nodes over the partitions instead of
// always favouring the smallest id.
uint64_t tie_break(uint32_t partition, const std::string& node_id) {
  return stable_hash(node_id + "/" + std::to_string(partition));
}

} // namespace

partition_map::partition_map(uint32_t partitions, uint32_t replicas)
  : partitions_(partitions), replicas_(replicas),
    shift_(64 - log2_exact(partitions)) {
  // Callers validate with valid_shape first; a bad shape here is a bug.
  if (!valid_shape(partitions, replicas)) {
    partitions_ = default_partitions;
    replicas_ = default_replicas;
    shift_ = 64 - log2_exact(partitions_);
  }
}

bool partition_map::valid_shape(uint32_t partitions, uint32_t replicas) {
  return partitions >= 1 && partitions <= max_partitions
         && (partitions & (partitions - 1)) == 0 && replicas >= 1
         && replicas <= max_replicas;
}

std::optional<std::string>
partition_map::from_assignment(uint32_t partitions, uint32_t replicas,
                               const ring_assignment& wire,
                               partition_map& out) {
  if (auto problem = assignment_problem(partitions, replicas, wire))
    return problem;
  partition_map result{partitions, replicas};
  result.width_ = static_cast<uint32_t>(
    std::min<std::size_t>(replicas, wire.ids.size()));
  for (std::size_t i = 0; i < wire.ids.size(); ++i)
    result.members_.push_back(member{wire.ids[i], wire.dcs[i]});
  result.slots_ = wire.slots;
  out = std::move(result);
  return std::nullopt;
}

ring_assignment partition_map::to_assignment() const {
  ring_assignment result;
  for (auto& m : members_) {
    result.ids.push_back(m.node_id);
    result.dcs.push_back(m.dc);
  }
  result.slots = slots_;
  return result;
}

uint32_t partition_map::partition_of_key(std::string_view key) const {
  return partition_of(stable_hash(key));
}

const partition_map::member*
partition_map::find(std::string_view node_id) const {
  auto it = std::lower_bound(
    members_.begin(), members_.end(), node_id,
    [](const member& m, std::string_view id) { return m.node_id < id; });
  if (it == members_.end() || it->node_id != node_id)
    return nullptr;
  return &*it;
}

bool partition_map::holds(uint32_t p, uint16_t m) const {
  auto* list = replicas_of(p);
  return std::find(list, list + width_, m) != list + width_;
}

uint32_t partition_map::dcs_with(uint32_t p, uint16_t out, uint16_t in) const {
  std::vector<const std::string*> seen;
  auto* list = replicas_of(p);
  for (uint32_t i = 0; i < width_; ++i) {
    auto m = list[i] == out ? in : list[i];
    auto* dc = &members_[m].dc;
    if (std::none_of(seen.begin(), seen.end(),
                     [&](const std::string* s) { return *s == *dc; }))
      seen.push_back(dc);
  }
  return static_cast<uint32_t>(seen.size());
}

void partition_map::order_by_dc(uint32_t p) {
  // The primary stays first; after it, the first node of each DC not yet
  // listed, then the rest, each group in its current order. So the first k
  // of a list span as many DCs as any k of its nodes can.
  auto* list = &slot(p, 0);
  std::vector<uint16_t> firsts;
  std::vector<uint16_t> rest;
  std::vector<const std::string*> seen{&members_[list[0]].dc};
  for (uint32_t i = 1; i < width_; ++i) {
    auto* dc = &members_[list[i]].dc;
    if (std::none_of(seen.begin(), seen.end(),
                     [&](const std::string* s) { return *s == *dc; })) {
      seen.push_back(dc);
      firsts.push_back(list[i]);
    } else {
      rest.push_back(list[i]);
    }
  }
  uint32_t i = 1;
  for (auto m : firsts)
    list[i++] = m;
  for (auto m : rest)
    list[i++] = m;
}

std::vector<uint32_t> partition_map::slot_counts() const {
  std::vector<uint32_t> counts(members_.size(), 0);
  for (auto m : slots_)
    ++counts[m];
  return counts;
}

std::vector<uint32_t> partition_map::primary_counts() const {
  std::vector<uint32_t> counts(members_.size(), 0);
  for (uint32_t p = 0; p < partitions_ && width_ > 0; ++p)
    ++counts[replicas_of(p)[0]];
  return counts;
}

void partition_map::add(const std::string& node_id, const std::string& dc) {
  if (find(node_id) != nullptr)
    return;
  if (members_.size() >= max_members)
    return;
  auto pos = static_cast<uint16_t>(
    std::lower_bound(members_.begin(), members_.end(), node_id,
                     [](const member& m, const std::string& id) {
                       return m.node_id < id;
                     })
    - members_.begin());
  members_.insert(members_.begin() + pos, member{node_id, dc});
  for (auto& m : slots_)
    if (m >= pos)
      ++m;
  const auto n = static_cast<uint32_t>(members_.size());
  if (width_ < replicas_) {
    // Lists are not full yet: every partition gets the new node as one
    // more replica (it must hold everything), then primaries are evened.
    const auto old_width = width_;
    std::vector<uint16_t> grown;
    grown.reserve(std::size_t{partitions_} * (old_width + 1));
    for (uint32_t p = 0; p < partitions_; ++p) {
      auto* list = slots_.data() + std::size_t{p} * old_width;
      grown.insert(grown.end(), list, list + old_width);
      grown.push_back(pos);
    }
    slots_ = std::move(grown);
    width_ = old_width + 1;
  } else {
    spread_to_new_dc(pos);
    take_slots(pos, static_cast<uint32_t>(
                      uint64_t{partitions_} * width_ / n));
  }
  for (uint32_t p = 0; p < partitions_; ++p)
    order_by_dc(p);
  balance_primaries();
}

void partition_map::spread_to_new_dc(uint16_t joiner) {
  // A partition without a replica in the joiner's DC, but with some DC
  // twice, trades one of its doubled-up replicas (the most loaded) for the
  // joiner: DC spread beats balance, as in preference lists.
  auto counts = slot_counts();
  for (uint32_t p = 0; p < partitions_; ++p) {
    auto before = dcs_with(p, joiner, joiner);
    uint16_t best = joiner;
    for (uint32_t i = 0; i < width_; ++i) {
      auto m = replicas_of(p)[i];
      if (dcs_with(p, m, joiner) > before
          && (best == joiner || counts[m] > counts[best]))
        best = m;
    }
    if (best == joiner)
      continue;
    auto* list = &slot(p, 0);
    *std::find(list, list + width_, best) = joiner;
    --counts[best];
    ++counts[joiner];
  }
}

void partition_map::take_slots(uint16_t joiner, uint32_t target) {
  auto counts = slot_counts();
  const auto n = members_.size();
  // Where each donor's search for a partition to give up stopped; a
  // partition skipped once (joiner already there, or DCs would suffer)
  // stays skipped for that donor, since the joiner only gains partitions.
  std::vector<uint32_t> cursor(n, 0);
  for (uint16_t d = 0; d < n; ++d)
    cursor[d] = static_cast<uint32_t>(
      tie_break(0, members_[d].node_id + "#" + members_[joiner].node_id)
      % partitions_);
  std::vector<uint32_t> scanned(n, 0);
  std::vector<uint16_t> donors;
  while (counts[joiner] < target) {
    donors.clear();
    for (uint16_t d = 0; d < n; ++d)
      if (d != joiner && counts[d] > counts[joiner] + 1
          && scanned[d] < partitions_)
        donors.push_back(d);
    if (donors.empty())
      return;
    std::sort(donors.begin(), donors.end(), [&](uint16_t a, uint16_t b) {
      return counts[a] != counts[b] ? counts[a] > counts[b] : a < b;
    });
    bool moved = false;
    for (auto d : donors) {
      while (scanned[d] < partitions_) {
        auto p = cursor[d];
        cursor[d] = (p + 1) % partitions_;
        ++scanned[d];
        if (!holds(p, d) || holds(p, joiner)
            || dcs_with(p, d, joiner) < dcs_with(p, d, d))
          continue;
        auto* list = &slot(p, 0);
        *std::find(list, list + width_, d) = joiner;
        --counts[d];
        ++counts[joiner];
        moved = true;
        break;
      }
      if (moved)
        break;
    }
    if (!moved)
      return;
  }
}

void partition_map::remove(std::string_view node_id) {
  auto* gone = find(node_id);
  if (gone == nullptr)
    return;
  auto x = static_cast<uint16_t>(gone - members_.data());
  const auto n_after = members_.size() - 1;
  if (n_after < width_) {
    // Lists shrink: every partition simply loses the node.
    std::vector<uint16_t> shrunk;
    shrunk.reserve(std::size_t{partitions_} * (width_ - 1));
    for (uint32_t p = 0; p < partitions_; ++p)
      for (uint32_t i = 0; i < width_; ++i)
        if (replicas_of(p)[i] != x)
          shrunk.push_back(replicas_of(p)[i]);
    slots_ = std::move(shrunk);
    --width_;
  } else {
    auto counts = slot_counts();
    for (uint32_t p = 0; p < partitions_; ++p) {
      if (!holds(p, x))
        continue;
      // Keep the partition's DCs if any candidate can, then the least
      // loaded, then a per-partition tie-break.
      uint16_t best = x;
      uint32_t best_dcs = 0;
      uint64_t best_tie = 0;
      for (uint16_t y = 0; y < members_.size(); ++y) {
        if (y == x || holds(p, y))
          continue;
        auto dcs = dcs_with(p, x, y);
        auto tie = tie_break(p, members_[y].node_id);
        if (best == x || dcs > best_dcs
            || (dcs == best_dcs
                && (counts[y] < counts[best]
                    || (counts[y] == counts[best] && tie < best_tie)))) {
          best = y;
          best_dcs = dcs;
          best_tie = tie;
        }
      }
      auto* list = &slot(p, 0);
      *std::find(list, list + width_, x) = best;
      ++counts[best];
    }
  }
  members_.erase(members_.begin() + x);
  for (auto& m : slots_)
    if (m > x)
      --m;
  if (members_.empty()) {
    slots_.clear();
    width_ = 0;
    return;
  }
  for (uint32_t p = 0; p < partitions_; ++p)
    order_by_dc(p);
  balance_primaries();
}

void partition_map::replace(std::string_view old_id, const std::string& new_id,
                            const std::string& new_dc) {
  auto* old_member = find(old_id);
  if (old_member == nullptr || find(new_id) != nullptr)
    return;
  auto old_index = static_cast<uint16_t>(old_member - members_.data());
  // Members stay sorted by id: the new one goes where its id sorts, and
  // every slot is renumbered to match.
  std::vector<member> next = members_;
  next.erase(next.begin() + old_index);
  auto at = std::lower_bound(next.begin(), next.end(), new_id,
                             [](const member& m, const std::string& id) {
                               return m.node_id < id;
                             });
  auto new_index = static_cast<uint16_t>(at - next.begin());
  next.insert(at, member{new_id, new_dc});
  for (auto& m : slots_) {
    if (m == old_index) {
      m = new_index;
      continue;
    }
    auto without_old = static_cast<uint16_t>(m > old_index ? m - 1 : m);
    m = static_cast<uint16_t>(without_old >= new_index ? without_old + 1
                                                       : without_old);
  }
  members_ = std::move(next);
  for (uint32_t p = 0; p < partitions_; ++p)
    order_by_dc(p);
}

void partition_map::balance_primaries() {
  // Moving the primary role within a list moves no data, so primaries are
  // evened out by swapping ranks until max - min <= 1 or no swap is left.
  if (width_ < 2)
    return;
  auto primaries = primary_counts();
  const auto n = static_cast<uint16_t>(members_.size());
  // Per (donor, receiver) pair: where the search stopped. A partition
  // skipped for a pair never becomes eligible for it: the receiver only
  // gains primaries, and the donor only loses them.
  std::map<std::pair<uint16_t, uint16_t>, uint32_t> cursor;
  std::vector<uint16_t> order(n);
  for (;;) {
    for (uint16_t i = 0; i < n; ++i)
      order[i] = i;
    std::sort(order.begin(), order.end(), [&](uint16_t a, uint16_t b) {
      return primaries[a] != primaries[b] ? primaries[a] > primaries[b]
                                          : a < b;
    });
    bool swapped = false;
    for (std::size_t di = 0; di < n && !swapped; ++di) {
      auto d = order[di];
      for (std::size_t ri = n; ri-- > di + 1 && !swapped;) {
        auto r = order[ri];
        if (primaries[d] <= primaries[r] + 1)
          break;
        auto& from = cursor[{d, r}];
        for (; from < partitions_; ++from) {
          auto* list = &slot(from, 0);
          if (list[0] != d)
            continue;
          auto* at = std::find(list + 1, list + width_, r);
          if (at == list + width_)
            continue;
          std::swap(list[0], *at);
          order_by_dc(from);
          --primaries[d];
          ++primaries[r];
          swapped = true;
          ++from;
          break;
        }
      }
    }
    if (!swapped)
      return;
  }
}

void partition_map::walk_from(uint32_t p, std::size_t limit,
                              std::vector<std::string>& out) const {
  std::vector<char> seen(members_.size(), 0);
  for (auto& id : out)
    if (auto* m = find(id))
      seen[static_cast<std::size_t>(m - members_.data())] = 1;
  for (uint32_t step = 0; step < partitions_ && out.size() < limit; ++step) {
    auto* list = replicas_of((p + step) & (partitions_ - 1));
    for (uint32_t i = 0; i < width_ && out.size() < limit; ++i)
      if (!seen[list[i]]) {
        seen[list[i]] = 1;
        out.push_back(members_[list[i]].node_id);
      }
  }
  // A member that holds no slot at all is still a fallback of last resort.
  for (std::size_t m = 0; m < members_.size() && out.size() < limit; ++m)
    if (!seen[m])
      out.push_back(members_[m].node_id);
}

std::vector<std::string> partition_map::replica_ids(uint32_t p) const {
  std::vector<std::string> ids;
  for (uint32_t i = 0; i < width_; ++i)
    ids.push_back(members_[replicas_of(p)[i]].node_id);
  return ids;
}

std::vector<std::string> partition_map::preference_list(std::string_view key,
                                                        uint32_t n) const {
  std::vector<std::string> result;
  if (members_.empty() || n == 0)
    return result;
  auto p = partition_of_key(key);
  auto* list = replicas_of(p);
  auto take = std::min(n, width_);
  result.reserve(std::min<std::size_t>(n, members_.size()));
  for (uint32_t i = 0; i < take; ++i)
    result.push_back(members_[list[i]].node_id);
  if (n > width_)
    walk_from(p, std::min<std::size_t>(n, members_.size()), result);
  return result;
}

std::vector<std::string> partition_map::walk(std::string_view key,
                                             uint32_t n) const {
  auto result = preference_list(key, n);
  if (!members_.empty())
    walk_from(partition_of_key(key), members_.size(), result);
  return result;
}

} // namespace kv
