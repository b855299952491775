#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/membership/failure_detector.hpp"
#include "actors/membership/peer_connector.hpp"
#include "actors/security/node_identity.hpp"
#include "messages/endpoint.hpp"
#include "messages/interfaces.hpp"

namespace kv {

using seed_address = endpoint;

// Does `seed` name the node listening on host:port (as spelled there)?
bool names_node(const seed_address& seed, const std::string& host,
                uint16_t port);

// Parses "host:port,host:port"; nullopt (and `error` set) if malformed.
inline std::optional<std::vector<seed_address>>
parse_seeds(const std::string& text, std::string& error) {
  return parse_endpoints(text, "seed", error);
}

struct gossiper_settings {
  std::vector<seed_address> seeds;            // contacted until one answers
  std::chrono::milliseconds interval{1000};   // one gossip round
  uint32_t fanout = 2;                        // peers per round
  failure_detector_settings detection;        // suspect / down timing
  // Where the membership is saved whenever the ring changes (empty: not
  // saved), and what was saved there before this start. Remembered members
  // are on the ring (status down) until they gossip again, so a node that
  // restarts cut off from its peers still sends each key to its real owners
  // (or hints for them) instead of owning every key itself.
  std::string state_dir;
  std::vector<member_info> remembered;
  // The ring saved by the last run (<state_dir>/RING), or an empty state.
  ring_state saved_ring;
  // Called (once) when a peer says this node's id belongs to another live
  // node: this process must not serve. kvnode exits.
  std::function<void(const std::string& reason)> on_id_conflict;
  // Reconnecting to a live peer whose connection dropped: the first try at
  // once, then waits doubling from the first to the last bound.
  std::chrono::milliseconds reconnect_min{250};
  std::chrono::milliseconds reconnect_max{4000};
  peer_connector_settings connector; // probe and handshake bounds
  // With TLS: checks that each card comes from the node it names (see
  // card_identity.hpp); a card without a valid proof is never taken. Only
  // the gossiper uses it (it caches what it verified).
  std::shared_ptr<identity_verifier> identities;
  // With TLS: signs this node's own card whenever it changes.
  std::shared_ptr<const identity_signer> signer;
};

// Failure detection paced by the gossip interval: suspect after 3 rounds
// without heartbeat progress, down after 8 (and confirmation), peers'
// reports trusted for 10 rounds.
failure_detector_settings detection_for(std::chrono::milliseconds interval);

// What the gossiper tells its node's coordinator: the cards (status as this
// node sees them) and each peer's clock offset (ms, by node id).
using membership_listener_actor = caf::typed_actor<
  caf::reacts_to<members_atom, std::vector<node_card>>,
  caf::reacts_to<offsets_atom, std::vector<std::string>, std::vector<int64_t>>>;

// Whoever follows the members' cards besides the coordinator and hints.
using card_listener_actor
  = caf::typed_actor<caf::reacts_to<members_atom, std::vector<node_card>>>;

// Spawns the gossiper. It owns the membership list (node cards by id): every
// interval it advances its own heartbeat and exchanges the list with a few
// random peers, a card with a higher heartbeat replacing an older one. Until
// it knows a peer it keeps asking the seeds. A failure detector turns
// heartbeat progress and the peers' suspicions into up/suspect/down. The
// ring manager gets member records when the ring's shape changes; the
// coordinator and hint buffer get cards (status = this node's view) when
// shape, status or a peer's handles change.
//
// Connections: every connect goes through `connector`, so no address can
// stall this actor. The gossiper watches each peer's coordinator; when the
// connection to a peer drops, the peer counts as suspect on this node (its
// requests go to stand-ins) and the gossiper reconnects with back-off until
// a direct exchange with the peer succeeds and its fresh handles are taken.
// The coordinator also gets this node's estimate of each peer's clock
// offset, measured on gossip round trips. `self_card` is this node's own
// card without the gossiper handle.
//
// Rings: the gossiper holds the highest ring version it has heard of (saved
// in the state directory before anyone learns that this node holds it), and
// hands it with the members to the ring manager every round and on every
// change; a new version planned there comes back and spreads with gossip.
// The `card_listeners` (handoff, anti-entropy) get the cards too.
gossiper_actor spawn_gossiper(caf::actor_system& sys,
                              gossiper_settings settings, node_card self_card,
                              ring_manager_actor ring_manager,
                              membership_listener_actor coordinator,
                              hint_buffer_actor hint_buffer,
                              std::vector<card_listener_actor> card_listeners,
                              peer_connector_actor connector);

} // namespace kv
