#include "actors/gateway/client_port.hpp"

#include <stdexcept>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/gateway/client_gateway.hpp"
#include "actors/log.hpp"
#include "actors/membership/tcp_probe.hpp"
#include "actors/security/remoting.hpp"
#include "messages/caf_types.hpp"

namespace kv {

std::unique_ptr<client_port>
client_port::open(const client_port_settings& settings,
                  client_actor coordinator) {
  tls_files copies;
  if (settings.tls.any()) {
    if (auto problem = ca_file_problem(settings.tls.ca))
      throw std::runtime_error(*problem);
    std::string error;
    auto checked = checked_tls_copies(settings.tls, "client", "", error);
    if (!checked)
      throw std::runtime_error(error);
    copies = *checked;
  }
  std::unique_ptr<client_port> result{new client_port};
  result->cfg_ = std::make_unique<caf::actor_system_config>();
  auto& cfg = *result->cfg_;
  cfg.load<caf::io::middleman>();
  register_message_types(cfg);
  // Parsing and forwarding only: the node's work runs in its own system.
  cfg.set("scheduler.max-threads", 2);
  // Clients that vanish without closing (cut link) are dropped, with
  // their requests.
  cfg.set("middleman.heartbeat-interval",
          caf::timespan{std::chrono::seconds{1}});
  cfg.set("middleman.connection-timeout",
          caf::timespan{std::chrono::seconds{30}});
  if (settings.tls.any())
    apply_tls(cfg, copies);
  result->sys_ = std::make_unique<caf::actor_system>(cfg);
  client_gateway_settings gateway;
  gateway.coordinator = std::move(coordinator);
  gateway.reply_limit = settings.reply_limit;
  result->gateway_ = spawn_client_gateway(*result->sys_, gateway);
  auto port = publish_on(*result->sys_, result->gateway_, settings.port,
                         settings.host);
  if (!port) {
    auto reason = tcp_listen_problem(settings.host, settings.port);
    // The probe's advice names the cluster port's flag.
    if (auto at = reason.find("--port"); at != std::string::npos)
      reason.replace(at, 6, "--client-port");
    throw std::runtime_error(
      "cannot serve clients (--client-port): "
      + (reason.empty() ? result->sys_->render(port.error()) : reason));
  }
  result->port_ = *port;
  log_line(log_level::info,
           "clients on " + settings.host + ":" + std::to_string(*port)
             + (settings.tls.any()
                  ? " (TLS: certificates of " + settings.tls.ca + ")"
                  : std::string{" (no TLS: anyone may read and write)"}));
  return result;
}

void client_port::close() {
  if (gateway_)
    caf::anon_send_exit(gateway_, caf::exit_reason::user_shutdown);
  gateway_ = nullptr;
}

client_port::~client_port() {
  close();
}

} // namespace kv
