#include "actors/antientropy/merkle_tree.hpp"

#include <algorithm>
#include <limits>

#include "actors/key_hash.hpp"

namespace kv {

namespace {

uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

uint64_t string_hash(std::string_view s, uint64_t seed) {
  return mix(stable_hash(s) ^ mix(seed + s.size()));
}

// Every field of a version, so replicas holding different bytes under the
// same dot (which must not happen, but a bug or corruption could) differ.
uint64_t version_hash(const versioned_value& v) {
  uint64_t h = string_hash(v.origin.node, v.origin.counter);
  for (auto& e : v.context.entries())
    h = mix(h ^ string_hash(e.node, e.counter));
  h = mix(h ^ v.timestamp_ms);
  h = mix(h ^ (v.tombstone ? 0x9e3779b97f4a7c15ull : 0));
  return mix(h ^ string_hash(v.value, 0x51));
}

// Bits of position a range of `span + 1` positions covers (64: all).
unsigned range_bits(uint64_t first, uint64_t last) {
  auto span = last - first;
  if (span == std::numeric_limits<uint64_t>::max())
    return 64;
  auto width = span + 1;
  return static_cast<unsigned>(__builtin_ctzll(width));
}

constexpr unsigned segment_bits = 8; // log2(merkle_segments)
static_assert((1u << segment_bits) == merkle_segments);
static_assert(merkle_fanout * merkle_fanout == merkle_segments
              && merkle_levels == 3);

} // namespace

uint64_t key_digest(std::string_view key, const sibling_list& siblings) {
  if (siblings.empty())
    return 0;
  // A sum: the same set in any order gives the same digest.
  uint64_t sum = 0;
  for (auto& v : siblings)
    sum += version_hash(v);
  auto digest = mix(string_hash(key, siblings.size()) ^ mix(sum));
  return digest == 0 ? 1 : digest;
}

bool merkle_tree::valid_range(uint64_t first, uint64_t last) {
  if (first > last)
    return false;
  auto span = last - first;
  if (span != std::numeric_limits<uint64_t>::max() && ((span + 1) & span) != 0)
    return false; // not a power of two wide
  if ((first & span) != 0)
    return false; // not aligned
  return range_bits(first, last) >= segment_bits;
}

merkle_tree::merkle_tree(uint64_t first, uint64_t last)
  : first_(first),
    last_(last),
    segment_shift_(range_bits(first, last) - segment_bits) {
  // nop
}

uint32_t merkle_tree::nodes_at(uint32_t level) {
  uint32_t n = 1;
  for (uint32_t i = 0; i < level; ++i)
    n *= merkle_fanout;
  return n;
}

uint32_t merkle_tree::segment_of(uint64_t position) const {
  return static_cast<uint32_t>((position - first_) >> segment_shift_);
}

std::pair<uint64_t, uint64_t> merkle_tree::segment_range(uint32_t segment) const {
  auto begin = first_ + (uint64_t{segment} << segment_shift_);
  auto end = begin + ((uint64_t{1} << segment_shift_) - 1);
  return {begin, end};
}

void merkle_tree::toggle(uint64_t position, uint64_t digest) {
  if (contains(position))
    leaves_[segment_of(position)] ^= digest;
}

std::optional<uint64_t> merkle_tree::node(uint32_t level,
                                          uint32_t index) const {
  if (level >= merkle_levels || index >= nodes_at(level))
    return std::nullopt;
  auto width = merkle_segments / nodes_at(level);
  uint64_t h = 0;
  for (uint32_t i = index * width; i < (index + 1) * width; ++i)
    h ^= leaves_[i];
  return h;
}

std::vector<uint32_t> merkle_children(uint32_t level, uint32_t index) {
  std::vector<uint32_t> result;
  if (level + 1 >= merkle_levels)
    return result;
  for (uint32_t i = 0; i < merkle_fanout; ++i)
    result.push_back(index * merkle_fanout + i);
  return result;
}

merkle_forest::merkle_forest(settings s) : settings_(s) {
  settings_.max_trees = std::max<std::size_t>(1, settings_.max_trees);
}

namespace {

uint64_t index_in(unsigned bits, uint64_t position) {
  return bits == 64 ? 0 : position >> bits;
}

} // namespace

merkle_forest::entry* merkle_forest::find(width_group& group,
                                          uint64_t position) {
  auto i = group.trees.find(index_in(group.bits, position));
  return i == group.trees.end() ? nullptr : &i->second;
}

void merkle_forest::start(entry& e) {
  e.tree.clear();
  e.ready = false;
  e.cursor.clear();
}

merkle_forest::key_count merkle_forest::keys() const {
  key_count result;
  if (!pinned_)
    return result;
  std::size_t ready = 0;
  for (auto& group : groups_) {
    if (group.bits != *pinned_)
      continue;
    for (auto& [index, e] : group.trees)
      if (e.ready && held_.count(e.tree.first()) > 0) {
        result.keys += e.tree.keys();
        ++ready;
      }
  }
  result.complete = ready == held_.size();
  return result;
}

std::size_t merkle_forest::size() const {
  std::size_t n = 0;
  for (auto& group : groups_)
    n += group.trees.size();
  return n;
}

void merkle_forest::evict_one() {
  width_group* from = nullptr;
  trees_by_index::iterator oldest;
  for (auto& group : groups_)
    for (auto i = group.trees.begin(); i != group.trees.end(); ++i)
      if (from == nullptr || i->second.last_asked < oldest->second.last_asked) {
        from = &group;
        oldest = i;
      }
  if (from != nullptr)
    from->trees.erase(oldest);
}

merkle_forest::status merkle_forest::ask(uint64_t first, uint64_t last,
                                         uint64_t now_ms) {
  if (!merkle_tree::valid_range(first, last))
    return status::bad_range;
  auto bits = range_bits(first, last);
  if (pinned_ && (*pinned_ != bits || held_.count(first) == 0))
    return status::bad_range;
  auto group = std::find_if(groups_.begin(), groups_.end(),
                            [&](auto& g) { return g.bits == bits; });
  if (group == groups_.end()) {
    if (groups_.size() >= 2) {
      auto stale = std::min_element(groups_.begin(), groups_.end(),
                                    [](auto& x, auto& y) {
                                      return x.last_asked < y.last_asked;
                                    });
      groups_.erase(stale);
    }
    groups_.push_back(width_group{bits, 0, {}});
    group = groups_.end() - 1;
  }
  group->last_asked = ++asks_;
  auto* e = find(*group, first);
  if (e == nullptr) {
    if (!pinned_ && size() >= settings_.max_trees)
      evict_one();
    entry fresh{merkle_tree{first, last}, false, {}, 0, 0};
    e = &group->trees.emplace(index_in(bits, first), std::move(fresh))
           .first->second;
    start(*e);
  } else if (e->ready && now_ms >= e->built_ms
             && now_ms - e->built_ms >= settings_.rebuild_after_ms) {
    start(*e);
  }
  e->last_asked = asks_;
  return e->ready ? status::ready : status::building;
}

const merkle_tree* merkle_forest::ready_tree(uint64_t first,
                                             uint64_t last) const {
  if (!merkle_tree::valid_range(first, last))
    return nullptr;
  auto bits = range_bits(first, last);
  for (auto& group : groups_) {
    if (group.bits != bits)
      continue;
    auto i = group.trees.find(index_in(bits, first));
    if (i != group.trees.end() && i->second.ready)
      return &i->second.tree;
  }
  return nullptr;
}

void merkle_forest::on_write(std::string_view stored_key, uint64_t position,
                             uint64_t before, uint64_t after) {
  if (before == after)
    return;
  for (auto& group : groups_) {
    auto* e = find(group, position);
    // Not read by the build yet: the build will see the new record.
    if (e == nullptr
        || (!e->ready && (e->cursor.empty() || stored_key > e->cursor)))
      continue;
    e->tree.toggle(position, before ^ after);
    e->tree.count_change(before, after);
  }
}

void merkle_forest::pin(uint64_t span, const std::vector<uint64_t>& firsts) {
  if (!merkle_tree::valid_range(0, span))
    return;
  auto bits = range_bits(0, span);
  pinned_ = bits;
  held_.clear();
  for (auto first : firsts)
    if (first <= std::numeric_limits<uint64_t>::max() - span
        && merkle_tree::valid_range(first, first + span))
      held_.insert(first);
  groups_.erase(std::remove_if(groups_.begin(), groups_.end(),
                               [&](auto& g) { return g.bits != bits; }),
                groups_.end());
  for (auto& group : groups_)
    for (auto i = group.trees.begin(); i != group.trees.end();)
      i = held_.count(i->second.tree.first()) ? std::next(i)
                                               : group.trees.erase(i);
}

void merkle_forest::invalidate(uint64_t position) {
  for (auto& group : groups_)
    if (auto* e = find(group, position))
      start(*e);
}

std::optional<merkle_forest::build_step> merkle_forest::next_build() const {
  for (auto& group : groups_)
    for (auto& [index, e] : group.trees)
      if (!e.ready)
        return build_step{e.tree.first(), e.tree.last(), e.cursor};
  return std::nullopt;
}

merkle_forest::entry* merkle_forest::find_tree(uint64_t first, uint64_t last) {
  auto bits = range_bits(first, last);
  for (auto& group : groups_)
    if (group.bits == bits) {
      auto* e = find(group, first);
      return e != nullptr && e->tree.first() == first ? e : nullptr;
    }
  return nullptr;
}

void merkle_forest::built_up_to(
  uint64_t first, uint64_t last, std::string_view stored_key,
  const std::vector<std::pair<uint64_t, uint64_t>>& digests) {
  auto* e = find_tree(first, last);
  if (e == nullptr || e->ready)
    return;
  for (auto& [position, digest] : digests) {
    e->tree.toggle(position, digest);
    e->tree.count_change(0, digest);
  }
  e->cursor.assign(stored_key);
}

void merkle_forest::build_done(uint64_t first, uint64_t last, uint64_t now_ms) {
  auto* e = find_tree(first, last);
  if (e == nullptr || e->ready)
    return;
  e->ready = true;
  e->built_ms = now_ms;
}

std::size_t merkle_forest::building() const {
  std::size_t n = 0;
  for (auto& group : groups_)
    for (auto& [index, e] : group.trees)
      n += e.ready ? 0 : 1;
  return n;
}

} // namespace kv
