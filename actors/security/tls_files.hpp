#pragma once

// Checks the files of a TLS set-up before they are used, so a node or a
// tool refuses to start with one line that names the wrong file, instead
// of failing handshakes later with OpenSSL's words. Plain OpenSSL, no CAF.

#include <optional>
#include <string>

namespace kv {

// The files one end of a TLS connection presents and trusts.
struct tls_files {
  std::string ca;   // PEM: the CA whose certificates the peer must present
  std::string cert; // PEM: this end's certificate (chain allowed)
  std::string key;  // PEM: its private key (unencrypted)

  // Some path is given (TLS is wanted).
  bool any() const;
};

// Why these files cannot be used, as one line that names the file and says
// why (unreadable, not PEM, no certificate in it, key does not match the
// certificate, certificate not signed by the CA, expired or not yet valid,
// CA file not a CA, certificate not for TLS clients or, for a node,
// servers), or nullopt when they are fine. All three paths must be given
// together. `role` ("node", "operator", "client"), when not empty, must be
// the certificate's subject OU; `name`, when not empty, its CN.
std::optional<std::string> tls_files_problem(const tls_files& files,
                                             const std::string& role,
                                             const std::string& name);

// The same for a client, whose certificate may come from a CA other than
// the one it trusts for the nodes (a client CA): everything but the chain.
std::optional<std::string> tls_client_files_problem(const tls_files& files);

// Why the CA certificates of a PEM file cannot be trusted (unreadable, not
// PEM, not a CA, expired), or nullopt.
std::optional<std::string> ca_file_problem(const std::string& path);

// The files copied into memory, as paths this process alone can read
// (/proc/self/fd/N of a memfd; empty paths stay empty): CAF reads its files
// again for every connection and ends the process when they do not load,
// so it gets copies that cannot change while the process runs (a
// certificate renewed on disk is used after a restart). `error` says why
// not, naming the file.
std::optional<tls_files> snapshot_tls_files(const tls_files& files,
                                            std::string& error);

// The files checked (as tls_files_problem, or tls_client_files_problem for
// role "client"), copied, and the copies checked again: what everything in
// the process reads from then on, so a file replaced meanwhile cannot
// differ between two readers. `error` says why not.
std::optional<tls_files> checked_tls_copies(const tls_files& files,
                                            const std::string& role,
                                            const std::string& name,
                                            std::string& error);

} // namespace kv
