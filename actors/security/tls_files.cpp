#include "actors/security/tls_files.hpp"
#include "actors/security/openssl_util.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
#include <cstring>
#include <ctime>
#include <memory>
#include <tuple>
#include <vector>

namespace kv {

namespace {

using namespace openssl_util;

struct store_free {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct stack_free {
  // The stack only borrows its certificates.
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};


bool has_pem_block(const std::string& text) {
  return text.find("-----BEGIN ") != std::string::npos;
}

// Every certificate in the PEM `text`, in order; the problem, naming
// `label`, when there is none or one does not parse.
std::optional<std::string> read_certificates(const std::string& text,
                                             const std::string& label,
                                             std::vector<x509_ptr>& out) {
  bio_ptr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio)
    return "cannot read " + label + ": out of memory";
  for (;;) {
    ERR_clear_error();
    x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
    if (!cert) {
      auto code = ERR_peek_last_error();
      if (ERR_GET_LIB(code) == ERR_LIB_PEM
          && ERR_GET_REASON(code) == PEM_R_NO_START_LINE)
        break;
      return label + " holds a certificate that does not parse ("
             + openssl_reason() + ")";
    }
    out.push_back(std::move(cert));
  }
  if (out.empty())
    return has_pem_block(text) ? label + " has no certificate in it"
                               : label + " is not PEM";
  return std::nullopt;
}

std::optional<std::string> read_key(const std::string& text,
                                    const std::string& label,
                                    pkey_ptr& out) {
  bio_ptr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio)
    return "cannot read " + label + ": out of memory";
  out.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  if (out)
    return std::nullopt;
  if (!has_pem_block(text))
    return label + " is not PEM";
  if (text.find("ENCRYPTED") != std::string::npos)
    return label + " is encrypted: the key must be unencrypted";
  if (text.find("PRIVATE KEY-----") == std::string::npos)
    return label + " has no private key in it";
  return label + " holds a private key that does not parse ("
         + openssl_reason() + ")";
}

// Why `cert`, named by `label`, is not valid now, or nullopt.
std::optional<std::string> validity_problem(X509* cert,
                                            const std::string& label) {
  const ASN1_TIME* not_before = X509_get0_notBefore(cert);
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  int before = X509_cmp_current_time(not_before);
  int after = X509_cmp_current_time(not_after);
  if (before == 0 || after == 0)
    return label + " has an unreadable validity date";
  if (after < 0)
    return label + " expired on " + date_of(not_after);
  if (before > 0)
    return label + " is not valid until " + date_of(not_before);
  return std::nullopt;
}

bool not_signed_error(int err) {
  switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return true;
    default:
      return false;
  }
}

// Why the chain `certs` (leaf first) does not lead to one of `cas`.
std::optional<std::string>
chain_problem(const std::vector<x509_ptr>& cas,
              const std::vector<x509_ptr>& certs, const std::string& cert_label,
              const std::string& ca_file) {
  std::unique_ptr<X509_STORE, store_free> store(X509_STORE_new());
  std::unique_ptr<STACK_OF(X509), stack_free> untrusted(sk_X509_new_null());
  std::unique_ptr<X509_STORE_CTX, store_ctx_free> ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx)
    return "cannot check " + cert_label + ": out of memory";
  for (auto& ca : cas)
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1)
      return "cannot use CA file " + ca_file + " (" + openssl_reason() + ")";
  for (std::size_t i = 1; i < certs.size(); ++i)
    if (sk_X509_push(untrusted.get(), certs[i].get()) <= 0)
      return "cannot check " + cert_label + ": out of memory";
  if (X509_STORE_CTX_init(ctx.get(), store.get(), certs.front().get(),
                          untrusted.get())
      != 1)
    return "cannot check " + cert_label + ": out of memory";
  if (X509_verify_cert(ctx.get()) == 1)
    return std::nullopt;
  int err = X509_STORE_CTX_get_error(ctx.get());
  if (not_signed_error(err))
    return cert_label + " is not signed by the CA in " + ca_file;
  if (err == X509_V_ERR_CERT_HAS_EXPIRED
      || err == X509_V_ERR_CERT_NOT_YET_VALID) {
    // The leaf's and the CA's dates were checked: a certificate between
    // them in the chain.
    X509* at = X509_STORE_CTX_get_current_cert(ctx.get());
    if (at != nullptr) {
      auto what = X509_STORE_CTX_get_error_depth(ctx.get()) == 0
                    ? cert_label
                    : "a certificate in the chain of " + cert_label
                        + " (CN=" + subject_entry(at, NID_commonName) + ")";
      if (auto problem = validity_problem(at, what))
        return problem;
    }
  }
  return cert_label + " does not verify against the CA in " + ca_file + ": "
         + X509_verify_cert_error_string(err);
}

std::string with_article(const std::string& role) {
  bool vowel = !role.empty()
               && std::strchr("aeiouAEIOU", role.front()) != nullptr;
  return (vowel ? "an " : "a ") + role;
}

// Every certificate of a CA file is a CA and valid now.
std::optional<std::string> cas_problem(const std::vector<x509_ptr>& cas,
                                       const std::string& ca_label) {
  for (auto& ca : cas) {
    auto cn = subject_entry(ca.get(), NID_commonName);
    if (X509_check_ca(ca.get()) == 0)
      return ca_label + " holds a certificate that is not a CA (CN=" + cn
             + ")";
    if (auto problem = validity_problem(ca.get(), ca_label + " (CN=" + cn
                                                    + ")"))
      return problem;
  }
  return std::nullopt;
}

std::optional<std::string> files_problem(const tls_files& files,
                                         const std::string& role,
                                         const std::string& name,
                                         bool cert_from_ca) {
  std::vector<std::string> missing;
  if (files.ca.empty())
    missing.push_back("the CA file");
  if (files.cert.empty())
    missing.push_back("the certificate");
  if (files.key.empty())
    missing.push_back("the key file");
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < missing.size(); ++i)
      list += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ")
              + missing[i];
    return "TLS needs the CA file, the certificate and the key file "
           "together: "
           + list + (missing.size() == 1 ? " is" : " are") + " not given";
  }
  error_queue_guard guard;
  auto ca_label = "CA file " + files.ca;
  auto cert_label = "certificate " + files.cert;
  auto key_label = "key file " + files.key;
  std::string ca_text, cert_text, key_text;
  if (auto problem = read_file(files.ca, ca_label, ca_text))
    return problem;
  if (auto problem = read_file(files.cert, cert_label, cert_text))
    return problem;
  if (auto problem = read_file(files.key, key_label, key_text))
    return problem;
  std::vector<x509_ptr> cas, certs;
  pkey_ptr key;
  if (auto problem = read_certificates(ca_text, ca_label, cas))
    return problem;
  if (auto problem = read_certificates(cert_text, cert_label, certs))
    return problem;
  if (auto problem = read_key(key_text, key_label, key))
    return problem;
  if (auto problem = cas_problem(cas, ca_label))
    return problem;
  X509* leaf = certs.front().get();
  EVP_PKEY* public_key = X509_get0_pubkey(leaf);
  if (public_key == nullptr)
    return cert_label + " has a public key that does not parse ("
           + openssl_reason() + ")";
  if (!keys_equal(public_key, key.get()))
    return key_label + " does not match " + cert_label;
  if (auto problem = validity_problem(leaf, cert_label))
    return problem;
  if (cert_from_ca)
    if (auto problem = chain_problem(cas, certs, cert_label, files.ca))
      return problem;
  // libssl checks these during the handshake; said here, they name the
  // file instead of failing every connection.
  if (X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) != 1)
    return cert_label + " is not for TLS clients (its key usage or "
                        "extended key usage)";
  if (role == "node" && X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0)
                          != 1)
    return cert_label + " is not for TLS servers (its key usage or "
                        "extended key usage)";
  auto ou = subject_entry(leaf, NID_organizationalUnitName);
  auto cn = subject_entry(leaf, NID_commonName);
  auto holder = (ou.empty() ? std::string("no role") : ou) + " "
                + (cn.empty() ? std::string("(no CN)") : cn);
  if (!role.empty() && ou != role)
    return cert_label + " is for " + holder + ", not "
           + (name.empty() ? with_article(role) : role + " " + name);
  if (!name.empty() && cn != name)
    return cert_label + " is for " + holder + ", not " + name;
  return std::nullopt;
}

} // namespace

bool tls_files::any() const {
  return !ca.empty() || !cert.empty() || !key.empty();
}

std::optional<std::string> tls_files_problem(const tls_files& files,
                                             const std::string& role,
                                             const std::string& name) {
  return files_problem(files, role, name, true);
}

std::optional<std::string> tls_client_files_problem(const tls_files& files) {
  return files_problem(files, "", "", false);
}

std::optional<std::string> ca_file_problem(const std::string& path) {
  error_queue_guard guard;
  auto label = "CA file " + path;
  std::string text;
  std::vector<x509_ptr> cas;
  if (auto problem = read_file(path, label, text))
    return problem;
  if (auto problem = read_certificates(text, label, cas))
    return problem;
  return cas_problem(cas, label);
}

namespace {

// The text of `path` in a memfd kept open for the life of the process (CAF
// opens the path again for every connection), or nullopt with `error`.
std::optional<std::string> memory_copy(const std::string& path,
                                       const std::string& label,
                                       std::string& error) {
  std::string text;
  if (auto problem = read_file(path, label + " " + path, text)) {
    error = *problem;
    return std::nullopt;
  }
  auto failed = [&](int fd) -> std::optional<std::string> {
    error = "cannot copy " + label + " " + path + " into memory: "
            + std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    return std::nullopt;
  };
  int fd = ::memfd_create("kvactors-tls", MFD_CLOEXEC);
  if (fd < 0)
    return failed(fd);
  for (std::size_t done = 0; done < text.size();) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0)
      return failed(fd);
    done += static_cast<std::size_t>(n);
  }
  auto copy = "/proc/self/fd/" + std::to_string(fd);
  if (::access(copy.c_str(), R_OK) != 0) {
    error = "cannot read the copy of " + label + " " + path + " at " + copy
            + " (is /proc mounted?): " + std::strerror(errno);
    ::close(fd);
    return std::nullopt;
  }
  return copy;
}

} // namespace

std::optional<tls_files> snapshot_tls_files(const tls_files& files,
                                            std::string& error) {
  tls_files copies;
  for (auto [from, to, label] :
       {std::tuple{&files.ca, &copies.ca, "CA file"},
        std::tuple{&files.cert, &copies.cert, "certificate"},
        std::tuple{&files.key, &copies.key, "key file"}}) {
    if (from->empty())
      continue;
    auto copy = memory_copy(*from, label, error);
    if (!copy)
      return std::nullopt;
    *to = std::move(*copy);
  }
  return copies;
}

std::optional<tls_files> checked_tls_copies(const tls_files& files,
                                            const std::string& role,
                                            const std::string& name,
                                            std::string& error) {
  auto problem_of = [&](const tls_files& x) {
    return role == "client" ? tls_client_files_problem(x)
                            : tls_files_problem(x, role, name);
  };
  if (auto problem = problem_of(files)) {
    error = *problem;
    return std::nullopt;
  }
  auto copies = snapshot_tls_files(files, error);
  if (!copies)
    return std::nullopt;
  if (auto problem = problem_of(*copies)) {
    error = "the TLS files changed while they were read (" + *problem
            + "); start again";
    return std::nullopt;
  }
  return copies;
}

} // namespace kv
