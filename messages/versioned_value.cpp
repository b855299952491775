#include "messages/versioned_value.hpp"

#include <algorithm>

namespace kv {

vector_clock versioned_value::history() const {
  auto result = context;
  result.advance(origin.node, origin.counter, timestamp_ms);
  return result;
}

bool operator==(const versioned_value& x, const versioned_value& y) {
  return x.origin == y.origin && x.context == y.context
         && x.tombstone == y.tombstone && x.value == y.value;
}

namespace {

// Does some version other than `v` itself in `versions` cover v's origin?
bool superseded_within(const versioned_value& v, const sibling_list& versions) {
  return std::any_of(versions.begin(), versions.end(),
                     [&](const versioned_value& other) {
                       return other.origin != v.origin
                              && obsoleted_by(v, other.context);
                     });
}

bool origin_less(const versioned_value& x, const versioned_value& y) {
  return x.origin.node != y.origin.node ? x.origin.node < y.origin.node
                                        : x.origin.counter < y.origin.counter;
}

} // namespace

sibling_list reconcile(const sibling_list& stored, const sibling_list& incoming) {
  sibling_list all;
  all.reserve(stored.size() + incoming.size());
  all.insert(all.end(), stored.begin(), stored.end());
  all.insert(all.end(), incoming.begin(), incoming.end());
  sibling_list result;
  result.reserve(all.size());
  for (auto& v : all) {
    if (superseded_within(v, all))
      continue;
    auto same = std::find_if(result.begin(), result.end(),
                             [&](const versioned_value& kept) {
                               return kept.origin == v.origin;
                             });
    if (same == result.end())
      result.push_back(v);
    else
      // One write seen twice: its context may have been pruned differently
      // on the way; the union is what it has really seen.
      same->context.merge(v.context);
  }
  std::sort(result.begin(), result.end(), origin_less);
  return result;
}

versioned_value make_version(const sibling_list& stored, uint64_t issued,
                             const vector_clock& context,
                             const std::string& node, uint64_t now_ms,
                             bool tombstone, std::string value,
                             std::size_t max_clock_entries) {
  auto highest = std::max({issued, context.counter(node),
                           highest_counter(stored, node)});
  std::vector<std::string_view> superseding;
  for (auto& v : stored)
    if (context.covers(v.origin))
      superseding.push_back(v.origin.node);
  versioned_value result;
  result.origin = dot{node, highest + 1};
  result.context = context;
  // The origin counts as an entry of the version's history.
  result.context.prune(max_clock_entries > 0 ? max_clock_entries - 1 : 0,
                       superseding);
  result.timestamp_ms = now_ms;
  result.tombstone = tombstone;
  if (!tombstone)
    result.value = std::move(value);
  return result;
}

uint64_t highest_counter(const sibling_list& versions, const std::string& node) {
  uint64_t result = 0;
  for (auto& v : versions)
    result = std::max({result, v.context.counter(node),
                       v.origin.node == node ? v.origin.counter : 0});
  return result;
}

vector_clock context_of(const sibling_list& siblings) {
  vector_clock result;
  for (auto& v : siblings)
    result.merge(v.history());
  return result;
}

sibling_list live_values(const sibling_list& siblings) {
  sibling_list result;
  std::copy_if(siblings.begin(), siblings.end(), std::back_inserter(result),
               [](const versioned_value& v) { return !v.tombstone; });
  return result;
}

} // namespace kv
