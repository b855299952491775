// kv_example: a tour of the kvactors client API for CAF applications.
//
//   kv_example [--host=127.0.0.1] [--port=4000]
//
// Any node's coordinator serves every key, so one connection is enough. The
// tour shows what a client of a Dynamo-style store must handle: blind writes
// become siblings, a get returns all of them with one causal context, and a
// put carrying that context replaces them (docs/versioning.md). Exits 0 when
// every step behaved as documented, 1 otherwise.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "messages/version.hpp"
#include "apps/client/kv_client.hpp"

namespace {

// CAF's limit per request. Every request needs one: CAF does not fail
// requests to a node that died, they only time out. The coordinator answers
// within the request's timeout_ms (node default 5 s): this is a backstop.
constexpr auto reply_limit = std::chrono::seconds{15};

class example_config : public kv::client_config {
public:
  std::string host = "127.0.0.1";
  uint32_t port = 4000;

  example_config() {
    opt_group{custom_options_, "global"}
      .add(host, "host", "address of any kvactors node")
      .add(port, "port", "port its coordinator is published on");
  }
};

struct tour_state {
  kv::client_actor node;
  std::string key; // fresh per run: a fixed key collects earlier runs' siblings
  static inline const char* name = "kv_example";
};

using tour_actor = caf::stateful_actor<tour_state>*;

// One request to the node; the caller attaches .then(reply, error).
template <class... Ts>
auto ask(tour_actor self, Ts&&... xs) {
  return self->request(self->state.node, reply_limit, std::forward<Ts>(xs)...);
}

// Ends the tour; main learns the outcome from the exit reason.
auto fail(tour_actor self, const char* step) {
  return [=](caf::error& err) {
    aout(self) << step << " failed: " << kv::describe(err) << std::endl;
    self->quit(err);
  };
}

bool check(tour_actor self, bool ok, const std::string& what) {
  if (!ok) {
    aout(self) << "unexpected: " << what << std::endl;
    self->quit(caf::sec::runtime_error);
  }
  return ok;
}

std::string values_of(const kv::get_result& r) {
  std::vector<std::string> xs;
  for (auto& v : r.siblings)
    xs.push_back(v.value);
  std::sort(xs.begin(), xs.end()); // sibling order carries no meaning
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ",") + x;
  return "[" + out + "]";
}

void resolved(tour_actor self);
void with_options(tour_actor self, kv::vector_clock context);
void refusal_and_delete(tour_actor self, kv::vector_clock context);

// Each step continues in the reply handler of the previous one: the actor
// never blocks, so one thread can drive many such conversations.
void tour(tour_actor self, kv::client_actor node, std::string key) {
  self->state.node = std::move(node);
  self->state.key = std::move(key);
  auto& k = self->state.key;
  // An empty context claims to have read nothing: the store cannot order
  // such a write after anything, so it keeps what is already there.
  ask(self, kv::put_atom::value, k, std::string{"apple"}, kv::vector_clock{},
      kv::request_options{})
    .then([=](kv::put_result&) {
      ask(self, kv::put_atom::value, k, std::string{"banana"},
          kv::vector_clock{}, kv::request_options{})
        .then([=](kv::put_result&) {
          ask(self, kv::get_atom::value, k, kv::request_options{})
            .then([=](kv::get_result& read) {
              if (!check(self, read.siblings.size() == 2,
                         "expected 2 siblings, got " + values_of(read)))
                return;
              aout(self) << "blind puts apple, banana -> get: 2 siblings "
                         << values_of(read) << ", context "
                         << read.context.to_string() << std::endl;
              // Resolving is the application's job (here: keep both); the
              // read context makes the put supersede exactly what was read.
              ask(self, kv::put_atom::value, k, std::string{"apple+banana"},
                  read.context, kv::request_options{})
                .then([=](kv::put_result&) { resolved(self); },
                      fail(self, "put with context"));
            }, fail(self, "get"));
        }, fail(self, "second blind put"));
    }, fail(self, "first blind put"));
}

void resolved(tour_actor self) {
  ask(self, kv::get_atom::value, self->state.key, kv::request_options{})
    .then([=](kv::get_result& read) {
      if (!check(self, values_of(read) == "[apple+banana]",
                 "expected [apple+banana], got " + values_of(read)))
        return;
      aout(self) << "put with context -> get: 1 value " << values_of(read)
                 << std::endl;
      with_options(self, read.context);
    }, fail(self, "get after resolving"));
}

void with_options(tour_actor self, kv::vector_clock context) {
  // n, r, w and timeout_ms override the node's defaults for one request;
  // n may not exceed the cluster, so count the nodes that are up.
  ask(self, kv::get_atom::value, kv::members_atom::value)
    .then([=](std::vector<kv::member_info>& members) {
      auto up = std::count_if(members.begin(), members.end(), [](auto& m) {
        return m.status == kv::member_status::up;
      });
      kv::request_options all;
      all.n = all.r = all.w = static_cast<uint32_t>(std::min<long>(3, up));
      all.timeout_ms = 3000;
      auto& k = self->state.key;
      ask(self, kv::put_atom::value, k, std::string{"cherry"}, context, all)
        .then([=](kv::put_result& w) {
          ask(self, kv::get_atom::value, k, all)
            .then([=](kv::get_result& read) {
              if (!check(self, values_of(read) == "[cherry]",
                         "expected [cherry], got " + values_of(read)))
                return;
              aout(self) << "n=r=w=" << all.n << ": put cherry, " << w.acks
                         << " ack(s); get " << values_of(read) << ", "
                         << read.replies << " reply(ies)" << std::endl;
              refusal_and_delete(self, read.context);
            }, fail(self, "get n=r=w"));
        }, fail(self, "put n=r=w"));
    }, fail(self, "members"));
}

void refusal_and_delete(tour_actor self, kv::vector_clock context) {
  kv::request_options bad;
  bad.n = 1;
  bad.r = 2; // more replies than replicas: refused before anything is sent
  auto& k = self->state.key;
  ask(self, kv::get_atom::value, k, bad)
    .then([=](kv::get_result&) { check(self, false, "r > n was accepted"); },
          [=](caf::error& err) {
            // kv errors carry a kv_errc code and a detail; describe() also
            // words CAF's own errors (timeouts, lost nodes).
            using kv::kv_errc;
            if (!check(self, kv::is_kv_error(err, kv_errc::invalid_argument),
                       "expected invalid_argument, got " + kv::describe(err)))
              return;
            aout(self) << "refused as expected: " << kv::describe(err)
                       << std::endl;
            // The tombstone supersedes what the context covers; a write this
            // client never saw would survive it as a sibling.
            ask(self, kv::delete_atom::value, k, context, kv::request_options{})
              .then([=](kv::put_result&) {
                ask(self, kv::get_atom::value, k, kv::request_options{})
                  .then([=](kv::get_result& read) {
                    if (check(self, read.siblings.empty(), "value survived")) {
                      aout(self) << "delete: get finds no value" << std::endl;
                      self->quit();
                    }
                  }, fail(self, "get after delete"));
              }, fail(self, "delete"));
          });
}

// The same API from sequential code: each call blocks until the reply.
bool blocking_tour(caf::actor_system& sys, const kv::client_actor& node,
                   const std::string& key) {
  kv::blocking_client client{sys, node};
  auto failed = [](const char* step, const caf::error& err) {
    std::cout << "blocking " << step << " failed: " << kv::describe(err)
              << std::endl;
    return false;
  };
  auto put = client.put(key, "v1");
  if (!put)
    return failed("put", put.error());
  auto got = client.get(key);
  if (!got)
    return failed("get", got.error());
  if (got->siblings.size() != 1 || got->siblings[0].value != "v1")
    return failed("get", caf::sec::runtime_error);
  auto update = client.put(key, "v2", got->context);
  if (!update)
    return failed("update", update.error());
  // A put's reply context covers exactly the siblings it returns: with one
  // (ours) it chains the next write (here the delete) without reading again;
  // with more, another client wrote concurrently and we resolve as after a
  // get.
  if (update->siblings.size() != 1)
    return failed("update: a concurrent write appeared", caf::sec::runtime_error);
  auto removed = client.remove(key, update->context);
  if (!removed)
    return failed("delete", removed.error());
  auto gone = client.get(key);
  if (!gone)
    return failed("get after delete", gone.error());
  if (!gone->siblings.empty())
    return failed("get after delete", caf::sec::runtime_error);
  std::cout << "blocking_client: put, get, put with context, delete: ok"
            << std::endl;
  return true;
}

} // namespace

int main(int argc, char** argv) {
  if (kv::print_version_if_asked(argc, argv, "kv_example"))
    return 0;
  example_config cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "kv_example: " << cfg.render(err) << std::endl;
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (cfg.port == 0 || cfg.port > 65535) {
    std::cerr << "kv_example: --port must be 1..65535" << std::endl;
    return 2;
  }
  // A cluster with TLS (the default) needs certificates: KV_TLS_CA,
  // KV_TLS_CERT and KV_TLS_KEY name them (scripts/certs.sh makes them).
  if (auto problem = cfg.use_tls(kv::tls_files_from_env())) {
    std::cerr << "kv_example: " << *problem << std::endl;
    return 2;
  }
  caf::actor_system sys{cfg};
  auto port = static_cast<uint16_t>(cfg.port);
  auto node = kv::connect_to_node(sys, cfg.host, port);
  if (!node) {
    std::cerr << "kv_example: cannot reach a node at " << cfg.host << ":"
              << cfg.port << ": " << kv::describe(node.error()) << std::endl;
    return 1;
  }
  auto key = "example-" + std::to_string(::getpid()) + "-"
             + std::to_string(std::chrono::system_clock::now()
                                .time_since_epoch().count());
  caf::error outcome;
  {
    caf::scoped_actor self{sys};
    self->monitor(sys.spawn(tour, *node, key));
    self->receive([&](caf::down_msg& msg) { outcome = msg.reason; });
  }
  if (outcome || !blocking_tour(sys, *node, key + "-blocking")) {
    std::cerr << "kv_example: failed" << std::endl;
    return 1;
  }
  std::cout << "kv_example: all steps passed" << std::endl;
  return 0;
}
