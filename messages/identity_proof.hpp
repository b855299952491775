#pragma once

#include <string>

#include <caf/meta/type_name.hpp>

namespace kv {

// A node's proof that it holds the certificate of the node id it claims
// (see actors/security/node_identity.hpp): its certificate and its
// signature over a statement of its identity. Empty when TLS is off.
struct identity_proof {
  std::string certificate; // DER
  std::string signature;   // over the statement, SHA-256

  bool empty() const { return certificate.empty() && signature.empty(); }

  friend bool operator==(const identity_proof& x, const identity_proof& y) {
    return x.certificate == y.certificate && x.signature == y.signature;
  }
  friend bool operator!=(const identity_proof& x, const identity_proof& y) {
    return !(x == y);
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, identity_proof& x) {
  return f(caf::meta::type_name("identity_proof"), x.certificate,
           x.signature);
}

} // namespace kv
