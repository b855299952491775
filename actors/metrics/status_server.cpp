#include "actors/metrics/status_server.hpp"

#include <map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/broker_port.hpp"
#include "actors/metrics/exposition.hpp"
#include "actors/metrics/http_request.hpp"
#include "messages/caf_types.hpp"

namespace kv {

namespace {

using expire_atom = caf::atom_constant<caf::atom("expire")>;

// How long the server waits for the node's own actors.
constexpr auto answer_limit = std::chrono::seconds{3};

struct connection {
  uint64_t serial = 0; // handle ids are socket numbers, reused
  std::string received;
  bool answered = false; // a response is written or on its way
};

struct server_state {
  status_server_settings settings;
  std::map<int64_t, connection> connections; // by connection handle id
  uint64_t accepted = 0;
  static inline const char* name = "status_server";
};

using server_pointer = caf::io::stateful_broker<server_state>*;

// Writes the response to connection `serial`; it closes once the response
// is sent. Nothing if that client left meanwhile (its socket number may
// already serve another one).
void respond(server_pointer self, caf::io::connection_handle hdl,
             uint64_t serial, const std::string& response) {
  auto i = self->state.connections.find(hdl.id());
  if (i == self->state.connections.end() || i->second.serial != serial)
    return;
  i->second.answered = true;
  self->ack_writes(hdl, true);
  self->write(hdl, response.size(), response.data());
  self->flush(hdl);
}

void serve(server_pointer self, caf::io::connection_handle hdl,
           uint64_t serial, const request_head& head) {
  bool head_only = head.method == "HEAD";
  if (head.method != "GET" && !head_only) {
    respond(self, hdl, serial,
            http_response(405, "text/plain; charset=utf-8",
                          "only GET and HEAD are served\n"));
    return;
  }
  if (head.path != "/metrics" && head.path != "/") {
    respond(self, hdl, serial,
            http_response(404, "text/plain; charset=utf-8",
                          "not found: try / or /metrics\n", head_only));
    return;
  }
  auto& s = self->state.settings;
  auto unavailable = [self, hdl, serial, head_only](caf::error& err) {
    respond(self, hdl, serial,
            http_response(503, "text/plain; charset=utf-8",
                          "the node did not answer: " + describe(err) + "\n",
                          head_only));
  };
  bool metrics = head.path == "/metrics";
  self->request(s.monitor, answer_limit, get_atom::value, stats_atom::value)
    .then(
      [=](node_stats& stats) {
        self
          ->request(self->state.settings.coordinator, answer_limit,
                    get_atom::value, members_atom::value)
          .then(
            [=](std::vector<member_info>& members) {
              if (metrics) {
                respond(self, hdl, serial,
                        http_response(200,
                                      "text/plain; version=0.0.4; "
                                      "charset=utf-8",
                                      prometheus_text(stats, members),
                                      head_only));
                return;
              }
              self
                ->request(self->state.settings.coordinator, answer_limit,
                          get_atom::value, ring_atom::value)
                .then(
                  [=](const ring_state& ring) {
                    respond(self, hdl, serial,
                            http_response(200, "text/html; charset=utf-8",
                                          status_page(stats, members, ring),
                                          head_only));
                  },
                  unavailable);
            },
            unavailable);
      },
      unavailable);
}

caf::behavior status_server_actor(server_pointer self,
                                  status_server_settings settings) {
  self->state.settings = std::move(settings);
  return {
    [=](open_atom) -> caf::result<uint16_t> {
      auto& s = self->state.settings;
      auto opened = self->add_tcp_doorman(s.port, s.host.c_str(), true);
      if (!opened)
        return std::move(opened.error());
      return opened->second;
    },
    [=](const caf::io::new_connection_msg& msg) {
      auto& st = self->state;
      if (st.connections.size() >= st.settings.max_connections) {
        // Refused without a word: answering would cost what the bound saves.
        self->close(msg.handle);
        return;
      }
      auto serial = ++st.accepted;
      st.connections.emplace(msg.handle.id(), connection{serial, {}, false});
      self->configure_read(msg.handle, caf::io::receive_policy::at_most(4096));
      self->delayed_send(self, st.settings.request_timeout, expire_atom::value,
                         msg.handle.id(), serial);
    },
    [=](const caf::io::new_data_msg& msg) {
      auto i = self->state.connections.find(msg.handle.id());
      if (i == self->state.connections.end() || i->second.answered)
        return;
      auto& c = i->second;
      c.received.append(msg.buf.begin(), msg.buf.end());
      auto head = read_request_head(c.received);
      switch (head.status) {
        case request_head::state::incomplete:
          return;
        case request_head::state::bad:
          respond(self, msg.handle, c.serial,
                  http_response(head.error_code, "text/plain; charset=utf-8",
                                head.error + "\n"));
          return;
        case request_head::state::complete:
          c.answered = true;
          c.received.clear();
          c.received.shrink_to_fit();
          serve(self, msg.handle, c.serial, head);
          return;
      }
    },
    [=](const caf::io::data_transferred_msg& msg) {
      if (msg.remaining == 0) {
        self->state.connections.erase(msg.handle.id());
        self->close(msg.handle);
      }
    },
    [=](const caf::io::connection_closed_msg& msg) {
      self->state.connections.erase(msg.handle.id());
    },
    [=](expire_atom, int64_t id, uint64_t serial) {
      auto& st = self->state;
      auto i = st.connections.find(id);
      if (i == st.connections.end() || i->second.serial != serial)
        return;
      auto hdl = caf::io::connection_handle::from_int(id);
      if (i->second.answered) {
        // Its response is still not taken after a whole time limit (a
        // client that does not read): the slot goes to someone else.
        st.connections.erase(i);
        self->close(hdl);
        return;
      }
      respond(self, hdl, serial,
              http_response(408, "text/plain; charset=utf-8",
                            "no complete request within the time limit\n"));
      self->delayed_send(self, st.settings.request_timeout, expire_atom::value,
                         id, serial);
    },
    [=](const caf::io::acceptor_closed_msg&) {
      // nop: the node stops the server
    },
  };
}

} // namespace

caf::expected<status_server>
spawn_status_server(caf::actor_system& sys, status_server_settings settings) {
  auto broker = sys.middleman().spawn_broker(status_server_actor,
                                             std::move(settings));
  auto port = open_broker_port(sys, broker);
  if (!port)
    return std::move(port.error());
  return status_server{broker, *port};
}

} // namespace kv
