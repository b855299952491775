#pragma once

// The client API of kvactors for CAF applications. A client is an ordinary
// CAF program: it registers the store's message types, connects to any
// node's client port (its gateway; an operator: its cluster port, the
// coordinator) and sends put/get/delete requests. With TLS (the default)
// it presents a certificate (use_tls). Asynchronous
// actors use the `client_actor` handle directly (see apps/example);
// `blocking_client` wraps the same requests for sequential code.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "actors/security/tls_files.hpp"
#include "messages/caf_types.hpp"
#include "messages/endpoint.hpp"
#include "messages/interfaces.hpp"

namespace kv {

// An actor_system_config with the middleman loaded and every kvactors type
// registered. Subclass it to add options.
// The (owner, count) pairs of a node's `get hints` reply (two parallel
// lists on the wire).
std::vector<std::pair<std::string, uint64_t>>
hints_by_owner(std::vector<std::string> owners,
               const std::vector<uint64_t>& counts);

class client_config : public caf::actor_system_config {
public:
  client_config();

  // Speak TLS to the nodes with these files: the CA that signed the nodes'
  // certificates, and this client's certificate and key. Before the actor
  // system starts. Why the files cannot be used (one line naming the
  // file), or nullopt; nothing changes when they cannot. No files: plain
  // TCP.
  std::optional<std::string> use_tls(const tls_files& files);
};

// The TLS files named by KV_TLS_CA, KV_TLS_CERT and KV_TLS_KEY (unset:
// empty), the way kvactors' programs take them from a script.
tls_files tls_files_from_env();

// Connects to the actor a node publishes at host:port (the client gateway
// or the coordinator: both serve client_actor), waiting at most
// `limit`: CAF's own remote_actor waits forever when the peer accepts TCP but
// never answers the handshake (a wrong port). Fails fast when nothing
// listens there.
caf::expected<client_actor>
connect_to_node(caf::actor_system& sys, const std::string& host, uint16_t port,
                std::chrono::milliseconds limit = std::chrono::seconds{10});

// How a blocking_client given several nodes finds one.
struct failover_options {
  // Per address tried: a connect that takes longer counts as unreachable.
  std::chrono::milliseconds connect_limit{5000};
};

// Sequential requests against a coordinator; each call waits for its reply
// for at most the request's timeout plus a margin. Not for concurrent use:
// give each thread its own client.
//
// Node loss. The client watches its node: when the connection drops, a
// request in flight fails at once instead of at its timeout, and the next
// request connects again. A client built from several addresses (connect)
// then moves on to the next address that answers:
//  - reads and cluster views (get, members, ring, preference_list) are
//    sent again to the next node, so they fail only when no node answers;
//  - views of one node's own state (stats, pending_hints, anti_entropy,
//    reaping, local_versions) fail: another node's would be another
//    answer;
//  - a put or delete already sent when its node was lost is NOT sent again:
//    a replica may have applied it. It fails with `unavailable` and a
//    message that says the outcome is unknown; read the key to learn it.
//    One that could not be sent goes to the next node.
// A node that does not answer within the request's limit (hung, or cut off
// by a partition) counts as lost as well.
class blocking_client {
public:
  // A client of one node (the handle's), with no address: once it loses
  // the node it cannot connect again (use the constructor with an address,
  // or connect).
  blocking_client(caf::actor_system& sys, client_actor node);

  // A client of the node at `address`, already connected (`node`): after
  // losing the node it connects to that address again.
  blocking_client(caf::actor_system& sys, client_actor node,
                  endpoint address, failover_options opts = {});

  // A client of whichever of `nodes` answers first, in the order given;
  // the error lists why each one could not be reached.
  static caf::expected<blocking_client>
  connect(caf::actor_system& sys, std::vector<endpoint> nodes,
          failover_options opts = {});

  blocking_client(blocking_client&&) noexcept;
  ~blocking_client();

  caf::expected<put_result> put(const std::string& key,
                                const std::string& value,
                                const vector_clock& context = {},
                                const request_options& opts = {});

  caf::expected<get_result> get(const std::string& key,
                                const request_options& opts = {});

  caf::expected<put_result> remove(const std::string& key,
                                   const vector_clock& context = {},
                                   const request_options& opts = {});

  // The members the node knows, with their status.
  caf::expected<std::vector<member_info>> members();

  // The preference list (node ids) of `key` for `n` replicas.
  caf::expected<std::vector<std::string>>
  preference_list(const std::string& key, uint32_t n);

  // The ring the node routes with (partition owners, change in transfer).
  caf::expected<ring_state> ring();

  // The connected node leaves the ring (hands its partitions over first);
  // an operator removes a dead node. The replies say what happens.
  caf::expected<std::string> leave();
  // The connected node, alone (a cluster of one, or in none yet), joins the
  // cluster of the node at `seed`; the records it holds go to their owners.
  caf::expected<std::string> join_cluster(const endpoint& seed);
  caf::expected<std::string> remove_node(const std::string& node_id);
  caf::expected<std::string> replace_node(const std::string& old_id,
                                          const std::string& new_id);

  // Hints this node holds for unreachable owners: owner -> count.
  caf::expected<std::vector<std::pair<std::string, uint64_t>>> pending_hints();

  // Anti-entropy per partition this node holds, and a forced exchange of
  // every partition with its other replicas (only those shared with
  // `node_id` unless it is empty); the reply says what was queued.
  caf::expected<std::vector<aae_partition>> anti_entropy();
  caf::expected<std::string> repair(const std::string& node_id);
  // Tombstone reaping as this node's reaper sees it.
  caf::expected<reap_status> reaping();
  // This node's figures: requests, latency, hints, storage, transfers.
  caf::expected<node_stats> stats();

  // The autoscaler as the deciding node reports it (asked through the
  // connected node), and an operator's control applied on every up node:
  // "pause", "resume", or "set" with "NAME VALUE" (docs/autoscaling.md).
  caf::expected<autoscale_status> autoscale();
  caf::expected<std::string> autoscale_control(const std::string& what,
                                               const std::string& value);

  // Every version this node's own replica stores for `key` (no quorum).
  caf::expected<sibling_list> local_versions(const std::string& key);

  // The node requests go to now (invalid after it was lost, until the next
  // request connects again), and its address when the client was built
  // from addresses ("" otherwise).
  const client_actor& node() const { return node_; }
  std::string node_address() const;

private:
  struct watcher;

  blocking_client(caf::actor_system& sys, std::vector<endpoint> nodes,
                  failover_options opts);

  std::chrono::milliseconds wait_limit(const request_options& opts) const;

  // Connects to the current address or, failing that, the next ones in
  // turn; an error naming each failure if none answers.
  caf::error ensure_node();
  // Forgets the node (lost or hung); the next request tries the next
  // address.
  void lose_node();

  // What a request does when its node is lost after it was sent.
  enum class on_loss {
    resend,         // reads and views: the next node answers instead
    write_in_doubt, // put, delete: fail, saying the outcome is unknown
    fail,           // ring changes, repairs, this node's own replica
  };

  // Sends `xs` to the node and hands the reply to `on_reply`; on node loss
  // moves on to the next node and acts as `policy` says.
  template <class OnReply, class... Ts>
  caf::error exchange(on_loss policy, std::chrono::milliseconds limit,
                      OnReply on_reply, const Ts&... xs);
  template <class Result, class... Ts>
  caf::expected<Result> ask(on_loss policy, std::chrono::milliseconds limit,
                            const Ts&... xs);

  caf::actor_system& sys_;
  client_actor node_;
  std::vector<endpoint> nodes_; // empty: only the handle given
  std::size_t current_ = 0;     // index into nodes_
  failover_options opts_;
  std::unique_ptr<watcher> watcher_;
};

} // namespace kv
