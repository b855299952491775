#pragma once

// The typed interfaces of every actor of a node. A handle of one of these
// types is all another actor (local or remote) needs to talk to it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/anti_entropy.hpp"
#include "messages/autoscale.hpp"
#include "messages/identity_proof.hpp"
#include "messages/atoms.hpp"
#include "messages/caf_types.hpp"
#include "messages/membership.hpp"
#include "messages/node_stats.hpp"
#include "messages/partition_chunk.hpp"
#include "messages/request.hpp"
#include "messages/ring_state.hpp"
#include "messages/vector_clock.hpp"
#include "messages/versioned_value.hpp"

namespace kv {

// One node's replica stores, in shard order (see store_shard_of).
using replica_store_actor = caf::typed_actor<
  // This replica coordinates a write: it makes the new version (value,
  // tombstone flag, client context) and stores it. The reply is the new
  // version and the key's whole sibling set after the write, which is what
  // the other replicas merge: shipping the whole set keeps every replica's
  // causal context sound (see context_of). The second flag
  // (`supersede_held`) makes a write supersede every version this replica
  // holds besides those its context covers, as a delete without a context
  // always does. The
  // last field is the request's deadline (wall clock ms, 0: none): a
  // replica that only gets to the request after it (it was hung) refuses
  // it, because the coordinator has given up and may have had another
  // replica make the version.
  caf::replies_to<coordinate_atom, std::string, std::string, bool, bool,
                  vector_clock, uint64_t>::with<versioned_value, sibling_list>,
  // Merge versions made elsewhere (replication, read repair, hints,
  // anti-entropy, handoff). A replica whose record of the key was lost
  // merges them but still does not count for the key (see restore).
  caf::replies_to<apply_atom, std::string, sibling_list>::with<ok_atom>,
  // The same, only if the record is still the one whose digest (key_digest;
  // 0: no record) the sender was told, else kv error `record_changed`: a
  // partition cleaner's copy, read a while ago, must not bring back a
  // record that was reaped meanwhile.
  caf::replies_to<apply_atom, std::string, sibling_list, uint64_t>::with<
    ok_atom>,
  // Merge versions that cover everything the key's other owners hold (every
  // one of them answered a read), or nothing when no other replica can
  // hold the key: a replica whose record was lost counts again.
  caf::replies_to<restore_atom, std::string, sibling_list>::with<ok_atom>,
  // Every stored version of a key, tombstones included.
  caf::replies_to<read_atom, std::string>::with<sibling_list>,
  // The records whose ring position is in [first, last], in position order,
  // after the stored key `resume_after` ("" for the start), up to about
  // `max_bytes` (at least one record): what a handoff copies. Every store
  // of a node shares one table, so any of them serves the whole node.
  caf::replies_to<scan_atom, uint64_t, uint64_t, std::string,
                  uint32_t>::with<partition_chunk>,
  // Anti-entropy: the hashes of nodes `indices` at `level` of this store's
  // tree over the positions [first, last] (a partition; its own keys only;
  // see actors/antientropy/merkle_tree.hpp). While the tree is being built
  // (the first request starts it) the reply is the error `unavailable`.
  caf::replies_to<tree_atom, uint64_t, uint64_t, uint32_t,
                  std::vector<uint32_t>>::with<std::vector<uint64_t>>,
  // The roots of the trees of many partitions at once, each
  // [first, first + span]: (roots, indices of the partitions without a root
  // yet: tree being built, or not held here by this node's ring). A round
  // compares every shared partition with one request.
  caf::replies_to<tree_atom, std::vector<uint64_t>, uint64_t>::with<
    std::vector<uint64_t>, std::vector<uint32_t>>,
  // The digest of every record (every store's: they share one table) in
  // [first, last] after the stored key `resume_after`, in position order.
  caf::replies_to<digest_atom, uint64_t, uint64_t, std::string>::with<
    key_digests>,
  // Tombstone reaping: the digest of each key's sibling set (0: no record),
  // and the indices of the keys whose record is lost here (unreadable, not
  // repaired yet). Any store answers for any key (they share one table).
  caf::replies_to<digest_atom, std::vector<std::string>>::with<
    std::vector<uint64_t>, std::vector<uint32_t>>,
  // The keys of this store in [first, last] after the stored key
  // `resume_after` whose every version is a tombstone, the newest written
  // before `older_than_ms` (wall clock), with their sibling sets: a page of
  // reaping candidates, read from the stores' tombstone index.
  caf::replies_to<tombstones_atom, uint64_t, uint64_t, std::string,
                  uint64_t>::with<partition_chunk>,
  // Drop the records of these keys (this store's) where they hold nothing
  // the given tombstones do not supersede: merged with them, the record is
  // exactly those tombstones. A record with anything newer or concurrent is
  // kept (merged); a lost one is only merged. Before the first record goes,
  // the store raises the dot-counter floor of absent keys, so a reaped key's
  // next dots never repeat one issued before. The reply: records dropped.
  caf::replies_to<reap_atom, partition_chunk>::with<uint32_t>,
  // The same for records of any kind, asked by this node's handoff once the
  // partition's owners hold them (refused from other nodes): data of a
  // partition this node no longer holds. The reply: records dropped.
  caf::replies_to<discard_atom, partition_chunk>::with<uint32_t>,
  // One step of a pending tree build (the store sends it to itself).
  caf::reacts_to<tick_atom>,
  // The width - 1 of the ring's partitions and the first positions of the
  // partitions this node holds, from this node's syncer only: from then on
  // trees of other partitions are refused, so no peer can make the store
  // drop the ring's trees by asking about others.
  caf::reacts_to<tree_atom, uint64_t, std::vector<uint64_t>>,
  caf::replies_to<stats_atom>::with<store_stats>>;

struct node_card;

// Writes held for replicas that were unreachable (sloppy quorum), persisted,
// and delivered when the owner is seen up again.
using hint_buffer_actor = caf::typed_actor<
  // Hold the versions of a key for its unreachable owner. Refused (kv error
  // `unavailable`) when the buffer is full: accepted hints are never dropped
  // except by expiry.
  caf::replies_to<hint_atom, hint>::with<ok_atom>,
  // What is held for (owner, key): sloppy reads ask fallbacks this.
  caf::replies_to<read_atom, std::string, std::string>::with<sibling_list>,
  // The membership as this node sees it (status = local view): hints for
  // owners that are up get delivered to their stores.
  caf::reacts_to<members_atom, std::vector<node_card>>,
  // Pending hints per owner: (owners, counts).
  caf::replies_to<get_atom, hint_atom>::with<std::vector<std::string>,
                                             std::vector<uint64_t>>,
  // The indices of the keys for which a hint is held, for any owner: a
  // tombstone is never reaped while an older version may still arrive.
  caf::replies_to<hint_atom, std::vector<std::string>>::with<
    std::vector<uint32_t>>,
  caf::replies_to<stats_atom>::with<hint_stats>>;

// Membership: exchanges node cards with peers (a card with a higher
// heartbeat replaces an older one) together with the sender's id and the ids
// of the nodes it suspects: the confirmations failure detection needs. The
// last field of both directions is the sender's wall clock (ms): the
// initiator estimates the peer's clock offset from the round trip, so
// deadlines sent to that peer are expressed on the peer's own clock.
//
// The ring travels with the cards: each side adds its ring only when the
// other's card shows an older version (else an empty ring_state), and a
// node takes any ring that supersedes its own. The ring manager's new
// versions (ring_atom) arrive the same way; the handoff reports a completed
// transition (handoff_atom) in this node's card.
using gossiper_actor = caf::typed_actor<
  caf::replies_to<gossip_atom, std::string, std::vector<node_card>,
                  std::vector<std::string>, uint64_t,
                  ring_state>::with<std::string, std::vector<node_card>,
                                    std::vector<std::string>, uint64_t,
                                    ring_state>,
  caf::replies_to<get_atom, members_atom>::with<std::vector<member_info>>,
  caf::reacts_to<ring_atom, ring_state>,
  // This node, alone, joins the cluster of the node at (host, port); from
  // its own coordinator only. The reply says what happens.
  caf::replies_to<join_atom, std::string, uint16_t>::with<std::string>,
  caf::reacts_to<handoff_atom, uint64_t>,
  // The ring version this node's coordinator routes every write with (no
  // write placed with an older one is still in flight): what the card
  // shows as the version this node holds.
  caf::reacts_to<routed_atom, uint64_t>,
  // This node is stopping (not leaving): its card says `down` and goes to
  // every live peer, which mark it down at once. Replies when they have
  // all answered or a round has passed.
  caf::replies_to<stopping_atom>::with<ok_atom>,
  caf::reacts_to<leave_atom>,
  // This node's load, measured by its monitor: goes into its own card.
  caf::reacts_to<load_atom, node_load>>;

// What clients talk to: any node's client gateway (its client port) or,
// for operators, its coordinator (the cluster port) serves any key. A
// gateway refuses the operator commands (join, leave, remove, replace,
// repair, autoscale control) with `not_authorized`.
using client_actor = caf::typed_actor<
  // put(key, value, context, options): context is what a get returned (empty
  // for a blind write); the reply carries the new version's history.
  caf::replies_to<put_atom, std::string, std::string, vector_clock,
                  request_options>::with<put_result>,
  caf::replies_to<get_atom, std::string, request_options>::with<get_result>,
  // delete(key, context, options) writes a tombstone; without a context it
  // supersedes every version the coordinating replica holds.
  caf::replies_to<delete_atom, std::string, vector_clock,
                  request_options>::with<put_result>,
  // The members this node knows, with their status.
  caf::replies_to<get_atom, members_atom>::with<std::vector<member_info>>,
  // The preference list (node ids) of a key for n replicas.
  caf::replies_to<get_atom, ring_atom, std::string, uint32_t>::with<
    std::vector<std::string>>,
  // The ring this node routes with: assignment, change in transfer.
  caf::replies_to<get_atom, ring_atom>::with<ring_state>,
  // This node leaves the ring: it hands its partitions over, then holds
  // none (it keeps answering until then). The reply says what happens.
  caf::replies_to<leave_atom>::with<std::string>,
  // This node, alone (a cluster of one, or not in any yet), joins the
  // cluster of the node at (host, port); its records go to their owners
  // there. The reply says what happens.
  caf::replies_to<join_atom, std::string, uint16_t>::with<std::string>,
  // An operator removes a dead node: the claimant plans it (other nodes
  // forward the request there). The reply says what happens.
  caf::replies_to<remove_atom, std::string>::with<std::string>,
  // An operator replaces a dead node with a new one (OLD, NEW): NEW takes
  // exactly OLD's partitions, copied from the surviving replicas once NEW
  // runs. Planned by the claimant, like remove.
  caf::replies_to<replace_atom, std::string, std::string>::with<std::string>,
  // Pending hints this node holds, per intended owner: (owners, counts).
  caf::replies_to<get_atom, hint_atom>::with<std::vector<std::string>,
                                             std::vector<uint64_t>>,
  // Anti-entropy as this node's syncer sees it, and a forced exchange (see
  // merkle_syncer_actor).
  caf::replies_to<get_atom, aae_atom>::with<std::vector<aae_partition>>,
  caf::replies_to<repair_atom, std::string>::with<std::string>,
  // Tombstone reaping as this node's reaper sees it.
  caf::replies_to<get_atom, reap_atom>::with<reap_status>,
  // This node's figures (requests, latency, hints, storage, transfers) as
  // its monitor last gathered them: kvsh `stats`.
  caf::replies_to<get_atom, stats_atom>::with<node_stats>,
  // The autoscaler: its status and its controls (see autoscaler_actor).
  caf::replies_to<get_atom, autoscale_atom, bool>::with<autoscale_status>,
  caf::replies_to<autoscale_atom, std::string, std::string, bool>::with<
    std::string>,
  // What this node's own replica stores for a key (all versions), for
  // operators and tests: no quorum, no repair.
  caf::replies_to<read_atom, std::string>::with<sibling_list>>;

// A node's coordinator, published on its cluster port: what clients get,
// and what only nodes (and operators) may ask.
using coordinator_actor = client_actor::extend<
  // A joining node asks a seed for its gossiper.
  caf::replies_to<join_atom>::with<gossiper_actor>>;

// A node as other nodes reach it: its member record and actor handles.
struct node_card {
  member_info info;
  coordinator_actor coordinator;
  std::vector<replica_store_actor> stores;
  gossiper_actor gossiper;
  hint_buffer_actor hints;
  // With TLS: that the node holds the certificate of info.node_id, for
  // these handles and this address (see card_identity.hpp).
  identity_proof proof;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_card& x) {
  return f(caf::meta::type_name("node_card"), x.info, x.coordinator, x.stores,
           x.gossiper, x.hints, x.proof);
}

// The cards a gossiper hands out, by node id (the first card of an id
// counts).
inline std::map<std::string, node_card> cards_by_id(std::vector<node_card> cards) {
  std::map<std::string, node_card> by_id;
  for (auto& card : cards) {
    auto id = card.info.node_id;
    by_id.emplace(std::move(id), std::move(card));
  }
  return by_id;
}

// Opens connections to other nodes for this node's actors. CAF 0.17's
// middleman connects blocking, one address at a time: a black-holed address
// would hold up every other connect (and the actor that asked) for the OS's
// SYN timeout. The connector probes host:port with a bounded, non-blocking
// plain connect first (all probes at once), and only then lets the
// middleman connect; the reply is the coordinator the node publishes there.
using peer_connector_actor = caf::typed_actor<
  caf::replies_to<caf::connect_atom, std::string, uint16_t>::with<
    coordinator_actor>>;

// Ring ownership. The gossiper hands it the members as this node sees them
// and the ring it holds; the reply is a new ring version when this node is
// the claimant and a change is due (else an empty ring_state).
using ring_manager_actor = caf::typed_actor<
  caf::replies_to<members_atom, std::vector<member_info>, ring_state>::with<
    ring_state>,
  // Preference list (node ids, in order) of a key for N replicas.
  caf::replies_to<get_atom, ring_atom, std::string, uint32_t>::with<
    std::vector<std::string>>>;

// Merkle-tree anti-entropy: a node's syncer compares the trees of the
// partitions it holds with the other replicas' (asking their stores, see
// tree_atom), descends to the differing segments and moves the differing
// keys' sibling sets both ways through the stores' merge. For operators:
// the state per partition, and `repair` to exchange every partition now
// (with every other replica, or only with the named node).
using merkle_syncer_actor = caf::typed_actor<
  caf::replies_to<get_atom, aae_atom>::with<std::vector<aae_partition>>,
  caf::replies_to<repair_atom, std::string>::with<std::string>>;

// Tombstone reaping: a node's reaper drops the tombstones of the
// partitions it is the first replica of, once every replica holds exactly
// them twice in a row, no hint for the key is held anywhere, every node is
// up and no ring change is in transfer (see tombstone_reaper.hpp).
using tombstone_reaper_actor
  = caf::typed_actor<caf::replies_to<get_atom, reap_atom>::with<reap_status>>;

// Handoff: copies the partitions this node takes over in a ring change from
// their current owners (scan_atom on their stores), chunk by chunk at a
// bounded rate, and reports the transition complete to its gossiper. Fed by
// the ring manager (rings) and the gossiper (cards); for operators it
// reports its progress: (transition, partitions to copy, copied, bytes).
using handoff_actor = caf::typed_actor<
  caf::reacts_to<members_atom, std::vector<node_card>>,
  caf::replies_to<get_atom, handoff_atom>::with<uint64_t, uint64_t, uint64_t,
                                                uint64_t>>;

// A node's monitor: gathers the node's figures every second from its
// coordinator, stores, hint buffer, handoff, syncer and reaper, publishes
// its load in the node's gossip card and answers for the whole picture.
using node_monitor_actor = caf::typed_actor<
  caf::replies_to<get_atom, stats_atom>::with<node_stats>,
  caf::reacts_to<tick_atom>>;

// A node's autoscaler (actors/autoscale/autoscaler.hpp): on the deciding
// node, grows or shrinks the cluster with its load. What operators (through
// any coordinator) ask of it:
using autoscaler_actor = caf::typed_actor<
  // Its status; with `follow`, the deciding node's (asked of that node's
  // coordinator when it is another one).
  caf::replies_to<get_atom, autoscale_atom, bool>::with<autoscale_status>,
  // "pause", "resume", or "set" with "NAME VALUE" (see target_settings.hpp);
  // with `everywhere`, also on every other up member. The reply says where
  // it took effect.
  caf::replies_to<autoscale_atom, std::string, std::string, bool>::with<
    std::string>>;

} // namespace kv
