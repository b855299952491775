// TLS files checked before use, and the proofs by which a node shows that
// its gossip card is its own, on certificates made by scripts/certs.sh
// (and, for dates certs.sh never writes, by OpenSSL's C API).
#define BOOST_TEST_MODULE tls_identity
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "actors/security/node_identity.hpp"
#include "actors/security/tls_files.hpp"
#include "tests/support/temp_dir.hpp"

using namespace kv;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A problem for a check's message, also when there is none.
std::string said(const std::optional<std::string>& problem) {
  return problem.value_or("(no problem)");
}

bool contains(const std::optional<std::string>& problem,
              const std::string& part) {
  return problem && problem->find(part) != std::string::npos;
}

// Runs `certs.sh ARGS` with no stdin; its exit status, its output in `out`.
int certs(const std::string& args, std::string* out = nullptr) {
  std::string log = "/tmp/kv_tls_identity_certs_" + std::to_string(getpid());
  std::string cmd = "CI=true bash '" KV_SOURCE_DIR "/scripts/certs.sh' "
                    + args + " </dev/null >" + log + " 2>&1";
  int status = std::system(cmd.c_str());
  if (out != nullptr)
    *out = read_text(log);
  std::remove(log.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void must_make(const std::string& args) {
  std::string out;
  if (certs(args, &out) != 0)
    throw std::runtime_error("certs.sh " + args + " failed: " + out);
}

struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

x509_ptr load_cert(const std::string& path) {
  auto text = read_text(path);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
    BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  return x509_ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

pkey_ptr load_key(const std::string& path) {
  auto text = read_text(path);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
    BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  return pkey_ptr(
    PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string der_of(const std::string& pem_path) {
  auto cert = load_cert(pem_path);
  int n = i2d_X509(cert.get(), nullptr);
  std::string out(static_cast<std::size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  i2d_X509(cert.get(), &p);
  return out;
}

// Writes to `pem` a certificate for OU=`ou`, CN=`cn` with `key`, signed by
// the cluster CA of `dir`, valid from now + `from` to now + `to` seconds:
// certs.sh makes only certificates valid now.
void make_cert(const std::string& dir, EVP_PKEY* key, const std::string& ou,
               const std::string& cn, long from, long to,
               const std::string& pem) {
  auto ca = load_cert(dir + "/cluster-ca.pem");
  auto ca_key = load_key(dir + "/cluster-ca.key");
  x509_ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), to);
  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add = [&](const char* field, const std::string& value) {
    X509_NAME_add_entry_by_txt(
      name, field, MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  };
  add("O", "kvactors");
  add("OU", ou);
  add("CN", cn);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  X509_set_pubkey(cert.get(), key);
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) <= 0)
    throw std::runtime_error("cannot sign a test certificate");
  std::unique_ptr<FILE, decltype(&std::fclose)> out(
    std::fopen(pem.c_str(), "w"), std::fclose);
  PEM_write_X509(out.get(), cert.get());
}

void write_key(EVP_PKEY* key, const std::string& path) {
  std::unique_ptr<FILE, decltype(&std::fclose)> out(
    std::fopen(path.c_str(), "w"), std::fclose);
  PEM_write_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr,
                       nullptr);
}

// Two clusters, each with its own CAs: `a` with nodes n1, n2, operator
// alice and client bob; `b` with its own n1. Made once for every case.
struct clusters {
  kv::testing::temp_dir dir{"kv_tls_identity"};
  std::string a = dir.path.string() + "/a";
  std::string b = dir.path.string() + "/b";
  std::string expired = a + "/nodes/n1-expired.pem";
  std::string future = a + "/nodes/n1-future.pem";
  std::string rsa_cert = a + "/nodes/n3.pem";
  std::string rsa_key = a + "/nodes/n3.key";

  clusters() {
    must_make(a + " node n1");
    must_make(a + " node n2");
    must_make(a + " operator alice");
    must_make(a + " client bob");
    must_make(b + " node n1");
    auto n1_key = load_key(a + "/nodes/n1.key");
    make_cert(a, n1_key.get(), "node", "n1", -10 * 86400, -86400, expired);
    make_cert(a, n1_key.get(), "node", "n1", 86400, 10 * 86400, future);
    pkey_ptr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    make_cert(a, rsa.get(), "node", "n3", -60, 86400, rsa_cert);
    write_key(rsa.get(), rsa_key);
  }

  tls_files node(const std::string& dir, const std::string& id) const {
    return {dir + "/cluster-ca.pem", dir + "/nodes/" + id + ".pem",
            dir + "/nodes/" + id + ".key"};
  }
};

const clusters& pki() {
  static clusters made;
  return made;
}

identity_signer signer(const std::string& cert, const std::string& key) {
  std::string error;
  auto out = identity_signer::load(cert, key, error);
  if (!out)
    throw std::runtime_error(error);
  return std::move(*out);
}

identity_signer node_signer(const std::string& dir, const std::string& id) {
  return signer(dir + "/nodes/" + id + ".pem", dir + "/nodes/" + id + ".key");
}

identity_verifier verifier(const std::string& dir) {
  std::string error;
  auto out = identity_verifier::load(dir + "/cluster-ca.pem", error);
  if (!out)
    throw std::runtime_error(error);
  return std::move(*out);
}

const std::string statement = "n1 10.0.0.1:4000 dc1 incarnation 7";

} // namespace

BOOST_AUTO_TEST_SUITE(script)

BOOST_AUTO_TEST_CASE(certs_sh_keeps_remakes_and_refuses_bad_names) {
  kv::testing::temp_dir tmp{"kv_tls_certs"};
  auto dir = tmp.path.string() + "/pki";
  std::string out;
  BOOST_REQUIRE(certs(dir + " node n1", &out) == 0);
  struct stat st {};
  BOOST_REQUIRE(stat(dir.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0700u);
  BOOST_REQUIRE(stat((dir + "/nodes/n1.key").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_REQUIRE(stat((dir + "/cluster-ca.key").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  auto first = read_text(dir + "/nodes/n1.pem");
  BOOST_REQUIRE(certs(dir + " node n1", &out) == 0);
  BOOST_TEST(out == "kept " + dir + "/nodes/n1.pem\n");
  BOOST_TEST(read_text(dir + "/nodes/n1.pem") == first);
  BOOST_REQUIRE(certs(dir + " node n1 --force", &out) == 0);
  BOOST_TEST(read_text(dir + "/nodes/n1.pem") != first);
  tls_files files{dir + "/cluster-ca.pem", dir + "/nodes/n1.pem",
                  dir + "/nodes/n1.key"};
  BOOST_TEST(!tls_files_problem(files, "node", "n1"));
  BOOST_TEST(certs(dir + " node ../evil", &out) == 2);
  BOOST_TEST(out.find("bad node name") != std::string::npos);
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 1);
  BOOST_TEST(certs(dir + " node " + std::string(65, 'a')) == 2);
  BOOST_TEST(certs(dir + " sideways x") == 2);
  BOOST_TEST(certs("--help") == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(files)

BOOST_AUTO_TEST_CASE(good_files_pass) {
  auto& p = pki();
  BOOST_TEST(!tls_files_problem(p.node(p.a, "n1"), "node", "n1"));
  BOOST_TEST(!tls_files_problem(p.node(p.a, "n2"), "", ""));
  BOOST_TEST(!tls_files_problem(p.node(p.b, "n1"), "node", "n1"));
  tls_files alice{p.a + "/cluster-ca.pem", p.a + "/operators/alice.pem",
                  p.a + "/operators/alice.key"};
  BOOST_TEST(!tls_files_problem(alice, "operator", "alice"));
  tls_files bob{p.a + "/client-ca.pem", p.a + "/clients/bob.pem",
                p.a + "/clients/bob.key"};
  BOOST_TEST(!tls_files_problem(bob, "client", "bob"));
  BOOST_TEST(!tls_files_problem({p.a + "/cluster-ca.pem", p.rsa_cert,
                                 p.rsa_key},
                                "node", "n3"));
  BOOST_TEST(p.node(p.a, "n1").any());
  BOOST_TEST(!tls_files{}.any());
  BOOST_TEST(tls_files({"", "", "k"}).any());
}

BOOST_AUTO_TEST_CASE(all_three_paths_together) {
  auto& p = pki();
  auto files = p.node(p.a, "n1");
  files.key.clear();
  auto problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "the key file is not given"), said(problem));
  files = p.node(p.a, "n1");
  files.ca.clear();
  files.key.clear();
  problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "the CA file and the key file are not given"),
             said(problem));
}

BOOST_AUTO_TEST_CASE(missing_file_is_named) {
  auto& p = pki();
  auto files = p.node(p.a, "n1");
  files.key = p.a + "/nodes/absent.key";
  auto problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "key file " + files.key), said(problem));
  BOOST_TEST(contains(problem, "No such file or directory"), said(problem));
  files = p.node(p.a, "n1");
  files.ca = p.a + "/nowhere.pem";
  problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "CA file " + files.ca), said(problem));
}

BOOST_AUTO_TEST_CASE(key_of_another_node_does_not_match) {
  auto& p = pki();
  auto files = p.node(p.a, "n1");
  files.key = p.a + "/nodes/n2.key";
  auto problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "does not match"), said(problem));
  BOOST_TEST(contains(problem, files.key), said(problem));
}

BOOST_AUTO_TEST_CASE(certificate_from_another_ca_is_not_signed_by_it) {
  auto& p = pki();
  auto files = p.node(p.b, "n1");
  files.ca = p.a + "/cluster-ca.pem";
  auto problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "certificate " + files.cert
                                 + " is not signed by the CA in " + files.ca),
             said(problem));
  // A client certificate is not a node's: the client CA signed it.
  tls_files bob{p.a + "/cluster-ca.pem", p.a + "/clients/bob.pem",
                p.a + "/clients/bob.key"};
  problem = tls_files_problem(bob, "", "");
  BOOST_TEST(contains(problem, "not signed by"), said(problem));
}

BOOST_AUTO_TEST_CASE(role_and_name_must_match) {
  auto& p = pki();
  tls_files alice{p.a + "/cluster-ca.pem", p.a + "/operators/alice.pem",
                  p.a + "/operators/alice.key"};
  auto problem = tls_files_problem(alice, "node", "");
  BOOST_TEST(contains(problem, "is for operator alice, not a node"),
             said(problem));
  problem = tls_files_problem(alice, "node", "alice");
  BOOST_TEST(contains(problem, "is for operator alice, not node alice"),
             said(problem));
  auto n1 = p.node(p.a, "n1");
  problem = tls_files_problem(n1, "node", "n2");
  BOOST_TEST(problem.value_or("")
               == "certificate " + n1.cert + " is for node n1, not n2",
             said(problem));
  problem = tls_files_problem(n1, "operator", "");
  BOOST_TEST(contains(problem, "is for node n1, not an operator"),
             said(problem));
}

BOOST_AUTO_TEST_CASE(garbage_is_not_pem) {
  auto& p = pki();
  kv::testing::temp_dir tmp{"kv_tls_garbage"};
  auto garbage = tmp.path.string() + "/garbage.pem";
  write_text(garbage, "hello, not a certificate\n");
  auto broken = tmp.path.string() + "/broken.pem";
  write_text(broken, "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n"
                     "-----END CERTIFICATE-----\n");
  auto files = p.node(p.a, "n1");
  files.cert = garbage;
  auto problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(problem.value_or("") == "certificate " + garbage + " is not PEM",
             said(problem));
  files.cert = broken;
  problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "does not parse"), said(problem));
  // The key where the certificate belongs, and the other way round.
  files = p.node(p.a, "n1");
  files.cert = files.key;
  problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "has no certificate in it"), said(problem));
  files = p.node(p.a, "n1");
  files.key = files.cert;
  problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "has no private key in it"), said(problem));
  files = p.node(p.a, "n1");
  files.key = garbage;
  problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "key file " + garbage + " is not PEM"),
             said(problem));
  files = p.node(p.a, "n1");
  files.ca = garbage;
  problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "CA file " + garbage + " is not PEM"),
             said(problem));
}

BOOST_AUTO_TEST_CASE(ca_file_must_be_a_ca) {
  auto& p = pki();
  auto files = p.node(p.a, "n1");
  files.ca = p.a + "/nodes/n2.pem";
  auto problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "CA file " + files.ca
                                 + " holds a certificate that is not a CA"),
             said(problem));
}

BOOST_AUTO_TEST_CASE(dates_are_checked) {
  auto& p = pki();
  auto files = p.node(p.a, "n1");
  files.cert = p.expired;
  auto problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "certificate " + p.expired + " expired on 20"),
             said(problem));
  files.cert = p.future;
  problem = tls_files_problem(files, "node", "n1");
  BOOST_TEST(contains(problem, "is not valid until 20"), said(problem));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(proofs)

BOOST_AUTO_TEST_CASE(loading_names_the_file) {
  auto& p = pki();
  std::string error;
  BOOST_TEST(!identity_signer::load(p.a + "/nodes/n1.pem",
                                    p.a + "/nodes/none.key", error));
  BOOST_TEST(error.find("none.key") != std::string::npos, error);
  BOOST_TEST(!identity_signer::load(p.a + "/nodes/n1.pem",
                                    p.a + "/nodes/n2.key", error));
  BOOST_TEST(error.find("does not match") != std::string::npos, error);
  BOOST_TEST(!identity_verifier::load(p.a + "/nodes/n1.pem", error));
  BOOST_TEST(error.find("not a CA") != std::string::npos, error);
  BOOST_TEST(!identity_verifier::load(p.a + "/nodes/n1.key", error));
  BOOST_TEST(error.find("n1.key") != std::string::npos, error);
}

BOOST_AUTO_TEST_CASE(a_node_proves_its_own_card) {
  auto& p = pki();
  auto n1 = node_signer(p.a, "n1");
  auto v = verifier(p.a);
  auto proof = n1.prove(statement);
  BOOST_TEST(proof.certificate == der_of(p.a + "/nodes/n1.pem"));
  auto problem = v.problem(proof, "n1", statement);
  BOOST_TEST(!problem, problem.value_or(""));
  identity_proof copy = proof;
  BOOST_TEST((copy == proof));
  copy.signature.back() ^= 1;
  BOOST_TEST((copy != proof));
  // RSA keys sign too.
  auto n3 = signer(p.rsa_cert, p.rsa_key);
  problem = v.problem(n3.prove(statement), "n3", statement);
  BOOST_TEST(!problem, problem.value_or(""));
}

BOOST_AUTO_TEST_CASE(wrong_name_statement_or_key_is_refused) {
  auto& p = pki();
  auto n1 = node_signer(p.a, "n1");
  auto n2 = node_signer(p.a, "n2");
  auto v = verifier(p.a);
  auto proof = n1.prove(statement);
  auto problem = v.problem(proof, "n2", statement);
  BOOST_TEST(contains(problem, "is for node n1, not n2"), said(problem));
  problem = v.problem(proof, "n1", statement + " ");
  BOOST_TEST(contains(problem, "signature does not verify"), said(problem));
  // n1's certificate with a signature by n2's key.
  identity_proof stolen{proof.certificate, n2.prove(statement).signature};
  problem = v.problem(stolen, "n1", statement);
  BOOST_TEST(contains(problem, "signature does not verify"), said(problem));
  // n2 proves its own card, not n1's.
  problem = v.problem(n2.prove(statement), "n1", statement);
  BOOST_TEST(contains(problem, "is for node n2, not n1"), said(problem));
}

BOOST_AUTO_TEST_CASE(other_ca_operator_and_dates_are_refused) {
  auto& p = pki();
  auto v = verifier(p.a);
  auto stranger = node_signer(p.b, "n1");
  auto problem = v.problem(stranger.prove(statement), "n1", statement);
  BOOST_TEST(contains(problem, "not signed by the cluster CA"), said(problem));
  auto alice = signer(p.a + "/operators/alice.pem",
                      p.a + "/operators/alice.key");
  problem = v.problem(alice.prove(statement), "alice", statement);
  BOOST_TEST(contains(problem, "is for operator alice, not a node"),
             said(problem));
  auto n1 = node_signer(p.a, "n1");
  identity_proof expired{der_of(p.expired), n1.prove(statement).signature};
  problem = v.problem(expired, "n1", statement);
  BOOST_TEST(contains(problem, "expired on 20"), said(problem));
  identity_proof future{der_of(p.future), n1.prove(statement).signature};
  problem = v.problem(future, "n1", statement);
  BOOST_TEST(contains(problem, "not valid until 20"), said(problem));
}

BOOST_AUTO_TEST_CASE(malformed_bytes_are_refused) {
  auto& p = pki();
  auto n1 = node_signer(p.a, "n1");
  auto v = verifier(p.a);
  auto good = n1.prove(statement);
  auto with = [&](std::string cert, std::string signature) {
    return v.problem(identity_proof{std::move(cert), std::move(signature)},
                     "n1", statement);
  };
  auto half = good.certificate.substr(0, good.certificate.size() / 2);
  BOOST_TEST(contains(with(half, good.signature), "does not parse"));
  BOOST_TEST(contains(with("garbage", good.signature), "does not parse"));
  BOOST_TEST(contains(with(good.certificate + "xx", good.signature),
                      "2 bytes after its end"));
  BOOST_TEST(contains(with("", good.signature), "no certificate"));
  auto sig_half = good.signature.substr(0, good.signature.size() / 2);
  BOOST_TEST(contains(with(good.certificate, sig_half), "does not verify"));
  BOOST_TEST(contains(with(good.certificate, std::string(64, '\x30')),
                      "does not verify"));
  BOOST_TEST(contains(with(good.certificate, ""), "no signature"));
  // Refused by size, before any parsing.
  auto big = with(std::string(20 * 1024, '\x30'), good.signature);
  BOOST_TEST(contains(big, "larger than 16 KiB"), said(big));
  big = with(good.certificate, std::string(2048, '\x30'));
  BOOST_TEST(contains(big, "larger than 1 KiB"), said(big));
}

BOOST_AUTO_TEST_CASE(the_cache_remembers_only_what_it_accepted) {
  auto& p = pki();
  auto n1 = node_signer(p.a, "n1");
  auto n2 = node_signer(p.a, "n2");
  auto v = verifier(p.a);
  auto proof = n1.prove(statement);
  for (int i = 0; i < 2000; ++i)
    BOOST_REQUIRE(!v.problem(proof, "n1", statement));
  // The same bytes for another node or statement, and other bytes for the
  // same, are checked in full.
  BOOST_TEST(v.problem(proof, "n2", statement).has_value());
  BOOST_TEST(v.problem(proof, "n1", "another statement").has_value());
  identity_proof stolen{proof.certificate, n2.prove(statement).signature};
  BOOST_TEST(v.problem(stolen, "n1", statement).has_value());
  auto tampered = proof;
  tampered.signature[tampered.signature.size() / 2] ^= 0x01;
  BOOST_TEST(v.problem(tampered, "n1", statement).has_value());
  // Past its capacity the oldest are forgotten, and still verify in full.
  for (std::size_t i = 0; i < identity_verifier::cache_capacity + 100; ++i) {
    auto s = statement + " " + std::to_string(i);
    BOOST_REQUIRE(!v.problem(n2.prove(s), "n2", s));
  }
  BOOST_TEST(!v.problem(proof, "n1", statement));
  BOOST_TEST(v.problem(proof, "n1", statement + "!").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
