// libFuzzer target: CAF's binary deserializer on every vocabulary type a peer
// sends (node_card is left out: its actor handles need a running system and
// the middleman). The first byte picks the type. Loading must fail with an
// error or yield a value whose invariants hold, and that re-encodes to a
// value that loads the same.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "messages/caf_types.hpp"
#include "messages/validation.hpp"

namespace {

void require(bool condition) {
  if (!condition)
    std::abort();
}

bool invariants_hold(const kv::vector_clock& c) {
  return !kv::clock_problem(c, kv::max_wire_clock_entries);
}

bool invariants_hold(const kv::versioned_value& v) {
  return invariants_hold(v.context)
         && (v.origin == kv::dot{} || !kv::dot_problem(v.origin));
}

bool invariants_hold(const kv::sibling_list& vs) {
  for (auto& v : vs)
    if (!invariants_hold(v))
      return false;
  return true;
}

bool invariants_hold(const kv::hint& h) {
  return invariants_hold(h.versions);
}

bool invariants_hold(const kv::ring_state& r) {
  return !kv::ring_problem(r);
}

bool invariants_hold(const kv::partition_chunk& c) {
  return c.keys.size() == c.versions.size()
         && c.keys.size() <= kv::max_chunk_keys;
}

template <class T>
bool invariants_hold(const T&) {
  return true;
}

template <class T>
void load(const char* data, std::size_t size) {
  T x;
  caf::binary_deserializer source{nullptr, data, size};
  if (source(x))
    return; // refused: fine
  require(invariants_hold(x));
  // The validators must not crash on anything that loads either.
  if constexpr (std::is_same_v<T, kv::member_info>)
    (void) kv::member_problem(x);
  if constexpr (std::is_same_v<T, kv::sibling_list>)
    (void) kv::versions_problem(x, 1 << 20, 100, 64);
  if constexpr (std::is_same_v<T, kv::hint>)
    (void) kv::hint_problem(x, 1 << 20, 100, 64);
  if constexpr (std::is_same_v<T, kv::partition_chunk>)
    (void) kv::chunk_problem(x, 1 << 20);
  std::vector<char> bytes;
  caf::binary_serializer sink{nullptr, bytes};
  require(!sink(x));
  T back;
  caf::binary_deserializer again{nullptr, bytes};
  require(!again(back));
  std::vector<char> bytes2;
  caf::binary_serializer sink2{nullptr, bytes2};
  require(!sink2(back));
  require(bytes == bytes2);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  auto rest = reinterpret_cast<const char*>(data + 1);
  auto n = size - 1;
  switch (data[0] % 9) {
    case 0: load<kv::vector_clock>(rest, n); break;
    case 1: load<kv::versioned_value>(rest, n); break;
    case 2: load<kv::sibling_list>(rest, n); break;
    case 3: load<kv::member_info>(rest, n); break;
    case 4: load<kv::hint>(rest, n); break;
    case 5: load<kv::request_options>(rest, n); break;
    case 6: load<std::vector<kv::member_info>>(rest, n); break;
    case 7: load<kv::ring_state>(rest, n); break;
    case 8: load<kv::partition_chunk>(rest, n); break;
  }
  return 0;
}
