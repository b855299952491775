#pragma once

// A node proves that it holds the certificate of the node id it claims:
// its gossip card carries its certificate and a signature, made with its
// key, over a statement the caller builds from the card; every receiver
// checks both against the cluster CA. TLS alone says only that the peer on
// a connection has some cluster certificate, not that the cards it relays
// are its own. Plain OpenSSL (identity_proof is a message type).

#include <cstddef>
#include <ctime>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "messages/identity_proof.hpp"

// OpenSSL's types, declared as OpenSSL does, so this header needs none of
// its headers.
struct evp_pkey_st;
struct x509_store_st;

namespace kv {

// The key and certificate of this node.
class identity_signer {
public:
  // Loads a PEM certificate (the first in the file) and its unencrypted
  // EC or RSA key; nullopt with `error` set (one line, naming the file)
  // when they are unusable.
  static std::optional<identity_signer> load(const std::string& cert_file,
                                             const std::string& key_file,
                                             std::string& error);

  // Throws std::runtime_error when OpenSSL cannot sign (out of memory): a
  // proof no one accepts would only fail later, and quieter.
  identity_proof prove(const std::string& statement) const;

  // DER bytes of the certificate.
  const std::string& certificate() const { return certificate_; }

private:
  struct key_free {
    void operator()(evp_pkey_st* key) const;
  };

  identity_signer() = default;

  std::unique_ptr<evp_pkey_st, key_free> key_;
  std::string certificate_;
};

// Checks proofs against the cluster CA. Not thread-safe (its cache): one
// actor owns it.
class identity_verifier {
public:
  static constexpr std::size_t max_certificate_size = 16 * 1024;
  static constexpr std::size_t max_signature_size = 1024;
  static constexpr std::size_t cache_capacity = 1024;

  // Loads the CA certificates of a PEM file; nullopt with `error` set (one
  // line, naming the file) when it is unusable or holds a non-CA.
  static std::optional<identity_verifier> load(const std::string& ca_file,
                                               std::string& error);

  // Why `proof` does not show that node `node_id` made `statement`, or
  // nullopt: the certificate is larger than max_certificate_size or does
  // not parse, does not chain to the CA, is expired or not yet valid, its
  // OU is not "node" or its CN not `node_id`; or the signature is larger
  // than max_signature_size or does not verify. A proof accepted before
  // for the same node and statement costs one hash until its certificate
  // expires: gossip repeats the same cards every round.
  std::optional<std::string> problem(const identity_proof& proof,
                                     const std::string& node_id,
                                     const std::string& statement);

private:
  struct store_free {
    void operator()(x509_store_st* store) const;
  };

  identity_verifier() = default;

  std::optional<std::string> verify(const identity_proof& proof,
                                    const std::string& node_id,
                                    const std::string& statement,
                                    std::time_t& expires);

  void remember(std::string digest, std::time_t expires);

  std::unique_ptr<x509_store_st, store_free> store_;
  // Digests of accepted (node, statement, proof), with when the certificate
  // expires; `order_` lists them oldest first, for eviction.
  std::unordered_map<std::string, std::time_t> accepted_;
  std::deque<std::string> order_;
};

} // namespace kv
