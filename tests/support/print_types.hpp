#pragma once

// How Boost.Test prints the store's vocabulary in failed checks. Hooks found
// by ADL (boost_test_print_type), not operator<<, so the library may add its
// own operator<< later without a clash.

#include <ostream>

#include "messages/vector_clock.hpp"
#include "messages/versioned_value.hpp"

namespace kv {

inline std::ostream& boost_test_print_type(std::ostream& out,
                                           const vector_clock& x) {
  return out << x.to_string();
}

inline std::ostream& boost_test_print_type(std::ostream& out, causal_order x) {
  return out << to_string(x);
}

inline std::ostream& boost_test_print_type(std::ostream& out, const dot& x) {
  return out << x.node << ':' << x.counter;
}

inline std::ostream& boost_test_print_type(std::ostream& out,
                                           const versioned_value& x) {
  return out << x.origin.node << ':' << x.origin.counter << ' '
             << x.context.to_string() << (x.tombstone ? " <tombstone>" : " \"")
             << (x.tombstone ? "" : x.value) << (x.tombstone ? "" : "\"");
}

inline std::ostream& boost_test_print_type(std::ostream& out,
                                           const sibling_list& xs) {
  out << '[';
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out << ", ";
    boost_test_print_type(out, xs[i]);
  }
  return out << ']';
}

} // namespace kv
