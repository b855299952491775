#include "messages/vector_clock.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>

namespace kv {

const char* to_string(causal_order x) {
  switch (x) {
    case causal_order::equal:
      return "equal";
    case causal_order::before:
      return "before";
    case causal_order::after:
      return "after";
    case causal_order::concurrent:
      return "concurrent";
  }
  return "?";
}

namespace {

bool by_node(const clock_entry& x, const clock_entry& y) {
  return x.node < y.node;
}

} // namespace

vector_clock::vector_clock(std::vector<clock_entry> entries) {
  // Sorting once instead of inserting one by one keeps this O(n log n) for
  // the large clocks a peer may send. Per node the result is what repeated
  // advance() gives: the largest counter, and the latest timestamp among
  // the entries that carry it.
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [](const clock_entry& e) {
                                 return e.counter == 0;
                               }),
                entries.end());
  std::sort(entries.begin(), entries.end(),
            [](const clock_entry& x, const clock_entry& y) {
              return std::tie(x.node, x.counter, x.timestamp_ms)
                     < std::tie(y.node, y.counter, y.timestamp_ms);
            });
  for (auto& e : entries) {
    if (!entries_.empty() && entries_.back().node == e.node)
      entries_.back() = std::move(e);
    else
      entries_.push_back(std::move(e));
  }
}

uint64_t vector_clock::counter(std::string_view node) const {
  auto i = std::lower_bound(entries_.begin(), entries_.end(), node,
                            [](const clock_entry& e, std::string_view n) {
                              return e.node < n;
                            });
  return i != entries_.end() && i->node == node ? i->counter : 0;
}

causal_order vector_clock::compare(const vector_clock& other) const {
  // One merge-walk over both sorted entry lists.
  bool this_ahead = false;
  bool other_ahead = false;
  auto i = entries_.begin();
  auto j = other.entries_.begin();
  while (i != entries_.end() || j != other.entries_.end()) {
    if (j == other.entries_.end() || (i != entries_.end() && i->node < j->node)) {
      this_ahead = true;
      ++i;
    } else if (i == entries_.end() || j->node < i->node) {
      other_ahead = true;
      ++j;
    } else {
      if (i->counter > j->counter)
        this_ahead = true;
      else if (i->counter < j->counter)
        other_ahead = true;
      ++i;
      ++j;
    }
    if (this_ahead && other_ahead)
      return causal_order::concurrent;
  }
  if (this_ahead)
    return causal_order::after;
  return other_ahead ? causal_order::before : causal_order::equal;
}

bool vector_clock::descends(const vector_clock& other) const {
  auto order = compare(other);
  return order == causal_order::after || order == causal_order::equal;
}

void vector_clock::merge(const vector_clock& other) {
  for (auto& e : other.entries_)
    advance(e.node, e.counter, e.timestamp_ms);
}

dot vector_clock::increment(const std::string& node, uint64_t now_ms) {
  auto next = counter(node) + 1;
  advance(node, next, now_ms);
  return dot{node, next};
}

void vector_clock::advance(const std::string& node, uint64_t counter,
                           uint64_t now_ms) {
  if (counter == 0)
    return;
  clock_entry probe{node, 0, 0};
  auto i = std::lower_bound(entries_.begin(), entries_.end(), probe, by_node);
  if (i != entries_.end() && i->node == node) {
    if (counter > i->counter) {
      i->counter = counter;
      i->timestamp_ms = now_ms;
    } else if (counter == i->counter) {
      i->timestamp_ms = std::max(i->timestamp_ms, now_ms);
    }
    return;
  }
  entries_.insert(i, clock_entry{node, counter, now_ms});
}

std::size_t vector_clock::prune(std::size_t max_entries,
                                const std::vector<std::string_view>& keep) {
  if (entries_.size() <= max_entries)
    return 0;
  std::vector<std::string_view> kept(keep.begin(), keep.end());
  std::sort(kept.begin(), kept.end());
  std::vector<std::size_t> candidates;
  candidates.reserve(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i)
    if (!std::binary_search(kept.begin(), kept.end(),
                            std::string_view{entries_[i].node}))
      candidates.push_back(i);
  auto removed = std::min(entries_.size() - max_entries, candidates.size());
  // Dropping the oldest one at a time is the same as dropping the `removed`
  // oldest at once. Ties break on the node id so every replica prunes the
  // same entries.
  auto older = [this](std::size_t x, std::size_t y) {
    auto& a = entries_[x];
    auto& b = entries_[y];
    return a.timestamp_ms != b.timestamp_ms ? a.timestamp_ms < b.timestamp_ms
                                            : a.node < b.node;
  };
  std::nth_element(candidates.begin(), candidates.begin() + removed,
                   candidates.end(), older);
  std::vector<bool> drop(entries_.size(), false);
  for (std::size_t i = 0; i < removed; ++i)
    drop[candidates[i]] = true;
  std::size_t index = 0;
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const clock_entry&) {
                                  return drop[index++];
                                }),
                 entries_.end());
  return removed;
}

uint64_t vector_clock::max_counter() const {
  uint64_t result = 0;
  for (auto& e : entries_)
    result = std::max(result, e.counter);
  return result;
}

std::string vector_clock::to_string() const {
  std::string out = "{";
  for (auto& e : entries_) {
    if (out.size() > 1)
      out += ", ";
    out += e.node;
    out += ':';
    out += std::to_string(e.counter);
  }
  out += '}';
  return out;
}

std::string vector_clock::to_token() const {
  std::string out;
  for (auto& e : entries_) {
    if (!out.empty())
      out += ',';
    out += e.node;
    out += ':';
    out += std::to_string(e.counter);
    out += '@';
    out += std::to_string(e.timestamp_ms);
  }
  return out;
}

namespace {

bool parse_u64(std::string_view text, uint64_t& out) {
  if (text.empty())
    return false;
  auto res = std::from_chars(text.data(), text.data() + text.size(), out);
  return res.ec == std::errc{} && res.ptr == text.data() + text.size();
}

} // namespace

std::optional<vector_clock> vector_clock::from_token(std::string_view token) {
  vector_clock result;
  if (!token.empty() && token.back() == ',')
    return std::nullopt;
  while (!token.empty()) {
    auto comma = token.find(',');
    auto item = token.substr(0, comma);
    token = comma == std::string_view::npos ? std::string_view{}
                                            : token.substr(comma + 1);
    auto colon = item.find(':');
    auto at = item.find('@');
    if (colon == std::string_view::npos || at == std::string_view::npos
        || at < colon)
      return std::nullopt;
    auto node = item.substr(0, colon);
    uint64_t counter = 0;
    uint64_t ts = 0;
    if (!valid_replica_id(node)
        || !parse_u64(item.substr(colon + 1, at - colon - 1), counter)
        || counter == 0 || counter >= max_clock_counter
        || !parse_u64(item.substr(at + 1), ts)
        || result.counter(node) != 0)
      return std::nullopt;
    result.advance(std::string{node}, counter, ts);
  }
  return result;
}

bool operator==(const vector_clock& x, const vector_clock& y) {
  return std::equal(x.entries_.begin(), x.entries_.end(), y.entries_.begin(),
                    y.entries_.end(),
                    [](const clock_entry& a, const clock_entry& b) {
                      return a.node == b.node && a.counter == b.counter;
                    });
}

bool valid_node_id(std::string_view id) {
  if (id.empty() || id.size() > 64)
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

bool valid_replica_id(std::string_view id) {
  auto slash = id.find('/');
  if (slash == std::string_view::npos)
    return valid_node_id(id);
  auto incarnation = id.substr(slash + 1);
  return valid_node_id(id.substr(0, slash)) && !incarnation.empty()
         && incarnation.size() <= 20
         && std::all_of(incarnation.begin(), incarnation.end(),
                        [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace kv
