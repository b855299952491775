#pragma once

// Certificates for a test, made by scripts/certs.sh in the test's own
// directory (the suite defines KV_SOURCE_DIR).

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "actors/security/tls_files.hpp"

namespace kv::testing {

class test_certs {
public:
  explicit test_certs(std::string dir) : dir_(std::move(dir)) {}

  // ca: the cluster CA; for a client: the cluster CA, which signs the
  // nodes' certificates it checks.
  tls_files node(const std::string& id) const { return make("node", id); }
  tls_files operator_(const std::string& name) const {
    return make("operator", name);
  }
  tls_files client(const std::string& name) const {
    return make("client", name);
  }

  std::string cluster_ca() const { return dir_ + "/cluster-ca.pem"; }
  std::string client_ca() const { return dir_ + "/client-ca.pem"; }

private:
  tls_files make(const std::string& role, const std::string& name) const {
    auto cmd = "CI=true bash '" KV_SOURCE_DIR "/scripts/certs.sh' '" + dir_
               + "' " + role + " " + name + " </dev/null >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("scripts/certs.sh " + role + " " + name
                               + " failed");
    auto base = dir_ + "/" + role + "s/" + name;
    return tls_files{cluster_ca(), base + ".pem", base + ".key"};
  }

  std::string dir_;
};

} // namespace kv::testing
