#include "actors/security/node_identity.hpp"
#include "actors/security/openssl_util.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

namespace kv {

namespace {

using namespace openssl_util;

struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

bio_ptr memory_bio(const std::string& text) {
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::optional<std::string> pem_problem(const std::string& text,
                                       const std::string& label,
                                       const char* what) {
  if (text.find("-----BEGIN ") == std::string::npos)
    return label + " is not PEM";
  return label + " has no " + what + " in it that parses ("
         + openssl_reason() + ")";
}

// Every certificate of a PEM text, in order.
std::vector<x509_ptr> read_certificates(const std::string& text) {
  std::vector<x509_ptr> out;
  auto bio = memory_bio(text);
  while (bio) {
    x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
    if (!cert)
      break;
    out.push_back(std::move(cert));
  }
  return out;
}

int key_type(const EVP_PKEY* key) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  return EVP_PKEY_get_base_id(key);
#else
  return EVP_PKEY_base_id(key);
#endif
}

bool supported_key(const EVP_PKEY* key) {
  int type = key_type(key);
  return type == EVP_PKEY_EC || type == EVP_PKEY_RSA;
}

std::string size_text(std::size_t bytes) {
  return std::to_string(bytes) + " bytes";
}

// Length-prefixed, so no two different (node, statement, proof) tuples
// hash the same bytes.
void digest_field(EVP_MD_CTX* ctx, const std::string& field) {
  unsigned char length[8];
  auto n = static_cast<std::uint64_t>(field.size());
  for (int i = 0; i < 8; ++i)
    length[i] = static_cast<unsigned char>(n >> (8 * i));
  EVP_DigestUpdate(ctx, length, sizeof length);
  EVP_DigestUpdate(ctx, field.data(), field.size());
}

// SHA-256 of the tuple; empty when OpenSSL fails (then nothing is cached).
std::string proof_digest(const identity_proof& proof,
                         const std::string& node_id,
                         const std::string& statement) {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return {};
  digest_field(ctx.get(), node_id);
  digest_field(ctx.get(), statement);
  digest_field(ctx.get(), proof.certificate);
  digest_field(ctx.get(), proof.signature);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out, &n) != 1)
    return {};
  return std::string(reinterpret_cast<char*>(out), n);
}

} // namespace

void identity_signer::key_free::operator()(evp_pkey_st* key) const {
  EVP_PKEY_free(key);
}

std::optional<identity_signer>
identity_signer::load(const std::string& cert_file,
                      const std::string& key_file, std::string& error) {
  error_queue_guard guard;
  auto cert_label = "certificate " + cert_file;
  auto key_label = "key file " + key_file;
  std::string cert_text, key_text;
  auto fail = [&](std::string problem) {
    error = std::move(problem);
    return std::nullopt;
  };
  if (auto problem = read_file(cert_file, cert_label, cert_text))
    return fail(*problem);
  if (auto problem = read_file(key_file, key_label, key_text))
    return fail(*problem);
  auto certs = read_certificates(cert_text);
  if (certs.empty())
    return fail(*pem_problem(cert_text, cert_label, "certificate"));
  pkey_ptr key;
  if (auto bio = memory_bio(key_text))
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password,
                                      nullptr));
  if (!key) {
    if (key_text.find("ENCRYPTED") != std::string::npos)
      return fail(key_label + " is encrypted: the key must be unencrypted");
    return fail(*pem_problem(key_text, key_label, "private key"));
  }
  if (!supported_key(key.get()))
    return fail(key_label + " holds neither an EC nor an RSA key");
  X509* cert = certs.front().get();
  EVP_PKEY* public_key = X509_get0_pubkey(cert);
  if (public_key == nullptr || !keys_equal(public_key, key.get()))
    return fail(key_label + " does not match " + cert_label);
  int size = i2d_X509(cert, nullptr);
  if (size <= 0)
    return fail("cannot encode " + cert_label + " (" + openssl_reason()
                + ")");
  if (static_cast<std::size_t>(size)
      > identity_verifier::max_certificate_size)
    return fail(cert_label + " is larger than 16 KiB in DER: every node "
                             "would refuse it");
  identity_signer out;
  out.certificate_.resize(static_cast<std::size_t>(size));
  auto* p = reinterpret_cast<unsigned char*>(out.certificate_.data());
  i2d_X509(cert, &p);
  out.key_.reset(key.release());
  return out;
}

identity_proof identity_signer::prove(const std::string& statement) const {
  error_queue_guard guard;
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  auto data = reinterpret_cast<const unsigned char*>(statement.data());
  std::size_t size = 0;
  if (!ctx
      || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                            key_.get())
           != 1
      || EVP_DigestSign(ctx.get(), nullptr, &size, data, statement.size())
           != 1)
    throw std::runtime_error("cannot sign the node's identity: "
                             + openssl_reason());
  identity_proof proof;
  proof.certificate = certificate_;
  proof.signature.resize(size);
  auto* out = reinterpret_cast<unsigned char*>(proof.signature.data());
  if (EVP_DigestSign(ctx.get(), out, &size, data, statement.size()) != 1)
    throw std::runtime_error("cannot sign the node's identity: "
                             + openssl_reason());
  // The first call gives the largest size an ECDSA signature can have.
  proof.signature.resize(size);
  return proof;
}

void identity_verifier::store_free::operator()(x509_store_st* store) const {
  X509_STORE_free(store);
}

std::optional<identity_verifier>
identity_verifier::load(const std::string& ca_file, std::string& error) {
  error_queue_guard guard;
  auto label = "CA file " + ca_file;
  std::string text;
  if (auto problem = read_file(ca_file, label, text)) {
    error = *problem;
    return std::nullopt;
  }
  auto cas = read_certificates(text);
  if (cas.empty()) {
    error = *pem_problem(text, label, "certificate");
    return std::nullopt;
  }
  identity_verifier out;
  out.store_.reset(X509_STORE_new());
  if (!out.store_) {
    error = "cannot use " + label + ": out of memory";
    return std::nullopt;
  }
  for (auto& ca : cas) {
    if (X509_check_ca(ca.get()) == 0) {
      error = label + " holds a certificate that is not a CA (CN="
              + subject_entry(ca.get(), NID_commonName) + ")";
      return std::nullopt;
    }
    if (X509_STORE_add_cert(out.store_.get(), ca.get()) != 1) {
      error = "cannot use " + label + " (" + openssl_reason() + ")";
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::string>
identity_verifier::problem(const identity_proof& proof,
                           const std::string& node_id,
                           const std::string& statement) {
  // Sizes first: nothing below runs on more than a few KiB.
  if (proof.certificate.empty())
    return "the proof has no certificate";
  if (proof.certificate.size() > max_certificate_size)
    return "the certificate is larger than 16 KiB ("
           + size_text(proof.certificate.size()) + ")";
  if (proof.signature.empty())
    return "the proof has no signature";
  if (proof.signature.size() > max_signature_size)
    return "the signature is larger than 1 KiB ("
           + size_text(proof.signature.size()) + ")";
  error_queue_guard guard;
  auto digest = proof_digest(proof, node_id, statement);
  auto now = std::time(nullptr);
  if (!digest.empty()) {
    auto hit = accepted_.find(digest);
    if (hit != accepted_.end() && now < hit->second)
      return std::nullopt;
  }
  std::time_t expires = 0;
  if (auto problem = verify(proof, node_id, statement, expires))
    return problem;
  if (!digest.empty())
    remember(std::move(digest), expires);
  return std::nullopt;
}

std::optional<std::string>
identity_verifier::verify(const identity_proof& proof,
                          const std::string& node_id,
                          const std::string& statement,
                          std::time_t& expires) {
  auto begin = reinterpret_cast<const unsigned char*>(proof.certificate.data());
  auto p = begin;
  auto size = static_cast<long>(proof.certificate.size());
  x509_ptr cert(d2i_X509(nullptr, &p, size));
  if (!cert)
    return "the certificate does not parse (" + openssl_reason() + ")";
  if (p != begin + size)
    return "the certificate has "
           + size_text(static_cast<std::size_t>(begin + size - p))
           + " after its end";
  // The names first: they are cheap, and say the most when wrong.
  auto ou = subject_entry(cert.get(), NID_organizationalUnitName);
  auto cn = subject_entry(cert.get(), NID_commonName);
  auto holder = (ou.empty() ? std::string("no role") : ou) + " "
                + (cn.empty() ? std::string("(no CN)") : cn);
  if (ou != "node")
    return "the certificate is for " + holder + ", not a node";
  if (cn != node_id)
    return "the certificate is for node " + cn + ", not " + node_id;
  std::unique_ptr<X509_STORE_CTX, store_ctx_free> ctx(X509_STORE_CTX_new());
  if (!ctx
      || X509_STORE_CTX_init(ctx.get(), store_.get(), cert.get(), nullptr)
           != 1)
    return "cannot check the certificate: out of memory";
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    X509* at = X509_STORE_CTX_get_current_cert(ctx.get());
    bool leaf = X509_STORE_CTX_get_error_depth(ctx.get()) == 0;
    auto whose = leaf ? std::string("the certificate of node ") + node_id
                      : std::string("the cluster CA certificate");
    switch (err) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        return whose + " expired on "
               + date_of(at != nullptr ? X509_get0_notAfter(at) : nullptr);
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return whose + " is not valid until "
               + date_of(at != nullptr ? X509_get0_notBefore(at) : nullptr);
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return "the certificate of node " + node_id
               + " is not signed by the cluster CA";
      default:
        return "the certificate of node " + node_id + " does not verify: "
               + X509_verify_cert_error_string(err);
    }
  }
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr || !supported_key(key))
    return "the certificate of node " + node_id
           + " holds neither an EC nor an RSA key";
  md_ctx_ptr md(EVP_MD_CTX_new());
  if (!md
      || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key)
           != 1)
    return "cannot check the signature: " + openssl_reason();
  int verified = EVP_DigestVerify(
    md.get(), reinterpret_cast<const unsigned char*>(proof.signature.data()),
    proof.signature.size(),
    reinterpret_cast<const unsigned char*>(statement.data()),
    statement.size());
  if (verified != 1)
    return "the signature does not verify: not made over this statement "
           "with the key of node "
           + node_id;
  int days = 0, seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert.get()))
      != 1)
    return "the certificate of node " + node_id
           + " has an unreadable expiry date";
  expires = std::time(nullptr) + std::time_t{days} * 86400 + seconds;
  return std::nullopt;
}

void identity_verifier::remember(std::string digest, std::time_t expires) {
  auto [it, inserted] = accepted_.try_emplace(digest, expires);
  if (!inserted) {
    // Seen again after its entry expired (the clock went back).
    it->second = expires;
    return;
  }
  order_.push_back(std::move(digest));
  while (order_.size() > cache_capacity) {
    accepted_.erase(order_.front());
    order_.pop_front();
  }
}

} // namespace kv
