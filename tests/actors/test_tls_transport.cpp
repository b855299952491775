// TLS between real actor systems in one process (certificates made by
// scripts/certs.sh): hostile handshakes do not drop other connections, a
// gossip card is taken only from the node whose certificate signed it, and
// the client port serves a client certificate data and views only.
#define BOOST_TEST_MODULE tls_transport
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/gateway/client_gateway.hpp"
#include "actors/gateway/client_port.hpp"
#include "actors/log.hpp"
#include "actors/membership/card_identity.hpp"
#include "actors/node.hpp"
#include "actors/security/remoting.hpp"
#include "apps/client/kv_client.hpp"
#include "tests/actors/bounded_actor_system.hpp"
#include "tests/support/print_types.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certs.hpp"

using namespace kv;

namespace {

// One node with TLS (certificate of `id`) publishing on a free port.
struct tls_node {
  tls_node(const testing::test_certs& certs, const std::string& dir,
           const std::string& id = "n1")
    : files(certs.node(id)), system(files) {
    node_config nc;
    nc.node_id = id;
    nc.port = 0;
    nc.storage.data_dir = dir + "/" + id;
    nc.storage.cache_size_mb = 16;
    nc.tls = files;
    running = node::start(system.get(), nc);
  }
  ~tls_node() { running->stop(); }

  tls_files files;
  testing::bounded_actor_system system;
  std::unique_ptr<node> running;
};

// A plain TCP connection to the port that sends 32 bytes that are no TLS
// and waits (10 s at most) until the node, its handshake failed, closes it.
void failed_handshake(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr),
                          sizeof(addr))
                == 0);
  timeval limit{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  const char bytes[32] = {'\xff'};
  BOOST_REQUIRE(::write(fd, bytes, sizeof(bytes)) == sizeof(bytes));
  char answer[256];
  ssize_t got;
  while ((got = ::read(fd, answer, sizeof(answer))) > 0)
    ; // a TLS alert, then the close
  // Closed (0), or reset: the node closed it with our bytes unread.
  bool closed = got == 0 || (got < 0 && errno == ECONNRESET);
  BOOST_TEST(closed, "the node did not close the connection: "
                       << std::strerror(errno));
  ::close(fd);
}

template <class T>
std::string failure(const caf::expected<T>& x) {
  return x ? std::string{"(none)"} : describe(x.error());
}

// The interfaces of the actor published at port, as a client sees them.
std::set<std::string> interfaces_at(caf::actor_system& sys, uint16_t port) {
  std::set<std::string> result;
  caf::scoped_actor self{sys};
  self
    ->request(remoting_of(sys), std::chrono::seconds{10},
              caf::connect_atom::value, std::string{"127.0.0.1"}, port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr&,
          std::set<std::string>& ifs) { result = std::move(ifs); },
      [&](caf::error& err) {
        BOOST_FAIL("cannot connect to the client port: " << describe(err));
      });
  return result;
}

// An actor that answers nothing: the handles of a forged card.
caf::behavior silent(caf::event_based_actor* self) {
  self->set_default_handler(caf::drop);
  return {[](int) {}};
}

// Takes every message and answers none: a request it gets stays in flight
// until the actor is told to exit (caf::drop would answer it at once with
// unexpected_message).
caf::behavior
holding(caf::stateful_actor<std::vector<caf::response_promise>>* self) {
  self->set_default_handler(
    [self](caf::scheduled_actor*, caf::message_view&)
      -> caf::result<caf::message> {
      self->state.push_back(self->make_response_promise());
      return self->state.back();
    });
  return {[](int) {}};
}

// A card for node `id` whose handles live in `sys`, signed with `signer`.
node_card forged_card(caf::actor_system& sys, const std::string& id,
                      const identity_signer& signer) {
  auto dummy = sys.spawn(silent);
  node_card card;
  card.info.node_id = id;
  card.info.dc = "dc1";
  card.info.host = "127.0.0.1";
  card.info.port = 1;
  card.info.incarnation = 7;
  card.info.heartbeat = 1;
  card.coordinator = caf::actor_cast<coordinator_actor>(dummy);
  card.gossiper = caf::actor_cast<gossiper_actor>(dummy);
  card.hints = caf::actor_cast<hint_buffer_actor>(dummy);
  card.stores = {caf::actor_cast<replica_store_actor>(dummy)};
  card.proof = signer.prove(identity_statement(card));
  return card;
}

identity_signer signer_of(const tls_files& files) {
  std::string error;
  auto signer = identity_signer::load(files.cert, files.key, error);
  BOOST_REQUIRE_MESSAGE(signer, error);
  return std::move(*signer);
}

// Offers `card` to the node's gossiper as if `card`'s node gossiped; the
// error, if the gossiper refused it.
std::optional<caf::error> gossip(tls_node& n, const node_card& card) {
  std::optional<caf::error> refusal;
  caf::scoped_actor self{n.system.get()};
  self
    ->request(n.running->gossiper(), std::chrono::seconds{10},
              gossip_atom::value, card.info.node_id,
              std::vector<node_card>{card}, std::vector<std::string>{},
              wall_clock_ms(), ring_state{})
    .receive([](const std::string&, std::vector<node_card>&,
                std::vector<std::string>&, uint64_t, ring_state&) {},
             [&](caf::error& err) { refusal = std::move(err); });
  return refusal;
}

bool is_member(tls_node& n, const std::string& id) {
  caf::scoped_actor self{n.system.get()};
  bool found = false;
  self
    ->request(n.running->gossiper(), std::chrono::seconds{10},
              get_atom::value, members_atom::value)
    .receive(
      [&](const std::vector<member_info>& members) {
        found = std::any_of(members.begin(), members.end(),
                            [&](auto& m) { return m.node_id == id; });
      },
      [](caf::error& err) { BOOST_FAIL(describe(err)); });
  return found;
}

} // namespace

// Regression: CAF 0.17 leaves OpenSSL's error queue filled after a failed
// handshake, and the next read of any TLS connection of the process was
// taken for a fatal error. A plain TCP connect to a node's port (a port
// scan, a health probe, the connector's own probe) dropped every connection
// the node had. Fixed by actors/security/tls_error_queue.cpp.
BOOST_AUTO_TEST_CASE(failed_handshakes_leave_other_connections_alone) {
  testing::temp_dir dir{"kv_tls_transport"};
  testing::test_certs certs{(dir.path / "certs").string()};
  tls_node n1{certs, dir.path.string()};
  testing::bounded_actor_system ops{certs.operator_("ops")};
  auto node = connect_to_node(ops.get(), "127.0.0.1", n1.running->port());
  BOOST_REQUIRE_MESSAGE(node, failure(node));
  blocking_client client{ops.get(), *node};
  auto first = client.put("k", "before");
  BOOST_REQUIRE_MESSAGE(first, failure(first));
  failed_handshake(n1.running->port());
  auto second = client.put("k", "after", first->context);
  BOOST_TEST_REQUIRE(static_cast<bool>(second), failure(second));
  auto read = client.get("k");
  BOOST_REQUIRE_MESSAGE(read, failure(read));
  BOOST_TEST(read->siblings.size() == 1u);
  BOOST_TEST(read->siblings.front().value == "after");
}

// A node holding a valid cluster certificate cannot speak for another node:
// the card it signed for another id is refused, with a reason, and never
// becomes a member. The same card signed by the named node is taken (the
// check can fail).
BOOST_AUTO_TEST_CASE(a_card_is_taken_only_from_the_node_it_names) {
  testing::temp_dir dir{"kv_tls_transport"};
  testing::test_certs certs{(dir.path / "certs").string()};
  tls_node n1{certs, dir.path.string()};
  auto& sys = n1.system.get();
  auto impostor = forged_card(sys, "n2", signer_of(certs.node("n3")));
  auto refusal = gossip(n1, impostor);
  BOOST_REQUIRE(refusal);
  BOOST_TEST(is_kv_error(*refusal, kv_errc::not_authenticated));
  BOOST_TEST(describe(*refusal).find("n3") != std::string::npos,
             describe(*refusal));
  BOOST_TEST(!is_member(n1, "n2"));
  auto unsigned_card = impostor;
  unsigned_card.proof = {};
  BOOST_TEST(static_cast<bool>(gossip(n1, unsigned_card)));
  // An operator's certificate is of the cluster CA too, but not a node's.
  auto operator_card = forged_card(sys, "n2", signer_of(certs.operator_("ops")));
  BOOST_TEST(static_cast<bool>(gossip(n1, operator_card)));
  BOOST_TEST(!is_member(n1, "n2"));
  auto genuine = forged_card(sys, "n2", signer_of(certs.node("n2")));
  auto accepted = gossip(n1, genuine);
  BOOST_TEST(!accepted, (accepted ? describe(*accepted) : ""));
  BOOST_TEST(is_member(n1, "n2"));
  // Relayed with its status or progress changed, the genuine card is no
  // longer what n2 signed: a member cannot report another as stopped for
  // good (a heartbeat no real one reaches) or finished with a handoff.
  auto stopped = genuine;
  stopped.info.status = member_status::down;
  stopped.info.heartbeat = genuine.info.heartbeat + 1'000'000;
  auto refused = gossip(n1, stopped);
  BOOST_REQUIRE(refused);
  BOOST_TEST(is_kv_error(*refused, kv_errc::not_authenticated));
  auto handed_off = genuine;
  handed_off.info.heartbeat += 1;
  handed_off.info.handoff_done = 99;
  BOOST_TEST(static_cast<bool>(gossip(n1, handed_off)));
  // Regression (second review): one card per node and message is checked,
  // so a message cannot make a node verify thousands of signatures; the
  // first card of an id is the one that counts.
  auto bad_then_good = genuine;
  bad_then_good.info.heartbeat += 5;
  auto forged_first = bad_then_good;
  forged_first.proof = signer_of(certs.node("n3")).prove(
    identity_statement(forged_first));
  auto good_second = bad_then_good;
  good_second.proof = signer_of(certs.node("n2")).prove(
    identity_statement(good_second));
  {
    caf::scoped_actor self{sys};
    self
      ->request(n1.running->gossiper(), std::chrono::seconds{10},
                gossip_atom::value, std::string{"n2"},
                std::vector<node_card>{forged_first, good_second},
                std::vector<std::string>{}, wall_clock_ms(), ring_state{})
      .receive([](const std::string&, std::vector<node_card>&,
                  std::vector<std::string>&, uint64_t, ring_state&) {
                 BOOST_FAIL("the forged first card was not refused");
               },
               [](caf::error& err) {
                 BOOST_TEST(is_kv_error(err, kv_errc::not_authenticated));
               });
  }
  // The same card signed again by n2 is news, and taken.
  auto next = genuine;
  next.info.heartbeat += 1;
  next.proof = signer_of(certs.node("n2")).prove(identity_statement(next));
  BOOST_TEST(!gossip(n1, next));
}

// The client port serves a client certificate reads, writes and views,
// refuses operator commands, offers no handle of the node's other actors
// (no join), and takes no certificate of the cluster CA; the cluster port
// takes no client certificate.
BOOST_AUTO_TEST_CASE(a_client_certificate_opens_the_client_port_only) {
  testing::temp_dir dir{"kv_tls_transport"};
  testing::test_certs certs{(dir.path / "certs").string()};
  tls_node n1{certs, dir.path.string()};
  client_port_settings settings;
  settings.tls = {certs.client_ca(), n1.files.cert, n1.files.key};
  auto clients = client_port::open(settings, n1.running->coordinator());
  testing::bounded_actor_system app{certs.client("app")};
  auto gateway = connect_to_node(app.get(), "127.0.0.1", clients->port());
  BOOST_REQUIRE_MESSAGE(gateway, failure(gateway));
  blocking_client client{app.get(), *gateway};
  auto written = client.put("k", "v");
  BOOST_REQUIRE_MESSAGE(written, failure(written));
  auto read = client.get("k");
  BOOST_REQUIRE_MESSAGE(read, failure(read));
  BOOST_TEST(read->siblings.front().value == "v");
  auto members = client.members();
  BOOST_TEST_REQUIRE(static_cast<bool>(members), failure(members));
  BOOST_TEST(members->size() == 1u);
  auto leave = client.leave();
  BOOST_REQUIRE(!leave);
  BOOST_TEST(is_kv_error(leave.error(), kv_errc::not_authorized));
  auto ifs = interfaces_at(app.get(), clients->port());
  BOOST_TEST(app.get().assignable<client_actor>(ifs));
  BOOST_TEST(!app.get().assignable<coordinator_actor>(ifs));
  auto cluster_port
    = connect_to_node(app.get(), "127.0.0.1", n1.running->port());
  BOOST_REQUIRE(!cluster_port);
  BOOST_TEST(is_kv_error(cluster_port.error(), kv_errc::not_authenticated));
  testing::bounded_actor_system ops{certs.operator_("ops")};
  auto operator_at_client_port
    = connect_to_node(ops.get(), "127.0.0.1", clients->port());
  BOOST_TEST(!operator_at_client_port);
}

// Regression (review of issue 11): one client could hold every slot of the
// gateway (and the memory of its values) for the longest request timeout.
// A coordinator that never answers holds each forwarded request.
BOOST_AUTO_TEST_CASE(the_client_gateway_bounds_what_one_client_holds) {
  testing::bounded_actor_system sys;
  auto mute = caf::actor_cast<client_actor>(sys.get().spawn(holding));
  auto refused_at_once = [&](const client_actor& gateway,
                             const std::string& value) {
    caf::scoped_actor self{sys.get()};
    bool refused = false;
    self
      ->request(gateway, std::chrono::seconds{5}, put_atom::value,
                std::string{"k"}, value, vector_clock{}, request_options{})
      .receive([](put_result&) {},
               [&](caf::error& err) {
                 refused = is_kv_error(err, kv_errc::unavailable);
               });
    return refused;
  };
  // Sends a put that stays in flight (the coordinator never answers).
  auto hold = [&](const client_actor& gateway, const std::string& value) {
    caf::anon_send(gateway, put_atom::value, std::string{"k"}, value,
                   vector_clock{}, request_options{});
  };
  client_gateway_settings by_bytes;
  by_bytes.coordinator = mute;
  by_bytes.max_bytes_in_flight = 100;
  auto bytes_gateway = spawn_client_gateway(sys.get(), by_bytes);
  hold(bytes_gateway, std::string(60, 'v'));
  BOOST_TEST(refused_at_once(bytes_gateway, std::string(60, 'v')));
  client_gateway_settings by_client;
  by_client.coordinator = mute;
  by_client.max_in_flight_per_client = 2;
  auto client_gateway = spawn_client_gateway(sys.get(), by_client);
  caf::scoped_actor holder{sys.get()};
  for (int i = 0; i < 2; ++i)
    holder->send(client_gateway, put_atom::value, std::string{"k"},
                 std::string{"v"}, vector_clock{}, request_options{});
  BOOST_TEST(refused_at_once(client_gateway, "v"));
  caf::anon_send_exit(bytes_gateway, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(client_gateway, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(mute, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(mute, caf::exit_reason::user_shutdown);
}
