#pragma once

// What the TLS file checks and the identity proofs share: OpenSSL objects
// owned by unique_ptr, the per-thread error queue kept empty, and files
// read with a size bound. Plain OpenSSL, no CAF.

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace kv::openssl_util {

// PEM files of a TLS set-up are a few KiB: a larger "file" (a device, a
// log given by mistake) is refused before it fills memory.
constexpr std::size_t max_file_size = 1 << 20;

struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct store_ctx_free {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};

using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

// OpenSSL's error queue is per thread and outlives the call: what a failed
// parse or check leaves in it would be read by the next TLS call on this
// thread (SSL_get_error) as that call's failure.
struct error_queue_guard {
  error_queue_guard() { ERR_clear_error(); }
  ~error_queue_guard() { ERR_clear_error(); }
};

// The reason of OpenSSL's last error, in its words.
std::string openssl_reason();

// A PEM password callback that never prompts: the files are read by a node
// or a tool with no terminal, and an encrypted key is reported instead.
int no_password(char*, int, int, void*);

// A certificate date as "YYYY-MM-DD HH:MM:SS UTC".
std::string date_of(const ASN1_TIME* t);

// The first `nid` entry (OU, CN) of the certificate's subject, as UTF-8;
// empty when there is none.
std::string subject_entry(X509* cert, int nid);

// The same key (a certificate's public key and a private key).
bool keys_equal(const EVP_PKEY* a, const EVP_PKEY* b);

// Reads `path` into `text`; the problem, naming `label`, when it cannot.
std::optional<std::string> read_file(const std::string& path,
                                     const std::string& label,
                                     std::string& text);

} // namespace kv::openssl_util
