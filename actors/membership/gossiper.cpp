#include "actors/membership/gossiper.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/membership/card_identity.hpp"
#include "actors/membership/clock_offsets.hpp"
#include "actors/ring/claimant.hpp"
#include "actors/log.hpp"
#include "messages/limits.hpp"
#include "messages/validation.hpp"
#include "persistence/node_files.hpp"
#include "persistence/storage_error.hpp"

namespace kv {

bool names_node(const seed_address& seed, const std::string& host,
                uint16_t port) {
  return port != 0 && seed.port == port && seed.host == host;
}

failure_detector_settings detection_for(std::chrono::milliseconds interval) {
  failure_detector_settings result;
  result.suspect_after = interval * 3;
  result.down_after = interval * 8;
  result.report_ttl = interval * 10;
  return result;
}

namespace {

using std::chrono::milliseconds;

using round_atom = caf::atom_constant<caf::atom("round")>;

// The gossiper as it sees itself: the public interface plus its timer.
using gossiper_node_actor
  = gossiper_actor::extend<caf::reacts_to<round_atom>>;

using steady = std::chrono::steady_clock;

// The connection to one peer, as this node's actors use it.
struct peer_link {
  bool broken = false; // its actors went away while it may be alive
  // The reconnect under way (0: none). Callbacks of an older attempt are
  // ignored: the link may have been repaired or reset since.
  uint64_t attempt = 0;
  milliseconds backoff{0};
  steady::time_point next_try;
};

// Every actor handle of a card.
std::vector<caf::strong_actor_ptr> handles_of(const node_card& card) {
  std::vector<caf::strong_actor_ptr> result{
    caf::actor_cast<caf::strong_actor_ptr>(card.coordinator),
    caf::actor_cast<caf::strong_actor_ptr>(card.gossiper),
    caf::actor_cast<caf::strong_actor_ptr>(card.hints)};
  for (auto& store : card.stores)
    result.push_back(caf::actor_cast<caf::strong_actor_ptr>(store));
  return result;
}

// The same actor objects, not only the same ids: after a connection drops,
// CAF makes new proxies for the same remote actors, which compare equal to
// the dead ones.
bool same_handles(const node_card& x, const node_card& y) {
  auto xs = handles_of(x);
  auto ys = handles_of(y);
  return std::equal(xs.begin(), xs.end(), ys.begin(), ys.end(),
                    [](auto& a, auto& b) { return a.get() == b.get(); });
}

// How long the steps of a reconnect (join, the first exchange) may take: a
// few gossip rounds, but never so little that a loaded machine turns a
// healthy peer suspect (tests gossip every 50 ms).
milliseconds reconnect_timeout(const gossiper_settings& s) {
  return std::max(s.interval * 3, milliseconds{1000});
}

struct gossiper_state {
  gossiper_settings settings;
  std::string self_id;
  std::map<std::string, node_card> cards; // by node id, self included
  std::optional<failure_detector> detector;
  ring_manager_actor ring_manager;
  membership_listener_actor coordinator;
  hint_buffer_actor hint_buffer;
  // Actors that follow the members' cards (handoff, anti-entropy).
  std::vector<card_listener_actor> card_listeners;
  ring_state ring; // the highest version heard of; saved before it is shown
  peer_connector_actor connector;
  std::map<std::string, peer_link> links; // by node id
  std::set<std::string> dialing_seeds;    // host:port being contacted
  uint64_t last_attempt = 0;              // numbers reconnect attempts
  clock_offsets offsets;
  std::map<std::string, int64_t> published_offsets;
  std::minstd_rand rng{std::random_device{}()};
  bool seeded = false; // a seed or peer has answered
  // Why each configured seed could not be reached (by host:port), for the
  // warning an operator needs when none answers: a node without a seed
  // serves alone and looks healthy.
  std::map<std::string, std::string> seed_failures;
  unsigned unseeded_rounds = 0;
  steady::time_point next_seed_warning{};
  bool warned_unseeded = false;
  failure_detector::clock::time_point last_round;
  // Members known from the saved membership that have not gossiped since
  // this start: on the ring, down, no handles.
  std::map<std::string, member_info> remembered;
  std::string saved_membership; // what the state file holds now
  bool id_conflict_reported = false;
  log_throttle foreign_warnings; // peers of another cluster
  log_throttle identity_warnings; // cards without a valid identity proof
  std::string signed_statement;   // what this node's card proof signs
  // Processes (id/incarnation) forgotten for joining another cluster: a
  // stale copy of their card relayed by a peer does not bring them back.
  // Oldest first, bounded.
  std::set<std::string> forgotten;
  std::deque<std::string> forgotten_order;
  bool joining = false;          // an operator's join is under way

  static inline const char* name = "gossiper";

  node_card& own() { return cards.at(self_id); }

  const std::string& cluster() const { return ring.cluster; }

  bool link_broken(const std::string& id) const {
    auto i = links.find(id);
    return i != links.end() && i->second.broken;
  }

  // A node's status as this node sees it: its own word for leaving, the
  // failure detector's otherwise; a live node this node has no working
  // connection to is suspect here until the connection is back.
  member_status view_of(const node_card& card) const {
    if (card.info.node_id == self_id)
      return card.info.status;
    auto status = detector->status_of(card.info.node_id);
    // A leaving node is still a member until its partitions are handed
    // over; one that died meanwhile is down, so it can be removed.
    if (card.info.status == member_status::leaving)
      return status == member_status::down ? status : member_status::leaving;
    if (status == member_status::up && link_broken(card.info.node_id))
      return member_status::suspect;
    return status;
  }

  // Cards as gossip sends them: each node's own record.
  // The cards to gossip: this node's own signed as it is now (with TLS).
  std::vector<node_card> gossiped_cards() {
    if (settings.signer) {
      auto statement = identity_statement(own());
      if (statement != signed_statement) {
        own().proof = settings.signer->prove(statement);
        signed_statement = std::move(statement);
      }
    }
    return all_cards();
  }

  std::vector<node_card> all_cards() const {
    std::vector<node_card> result;
    result.reserve(cards.size());
    for (auto& [id, card] : cards)
      result.push_back(card);
    return result;
  }

  // Cards for this node's actors: status is the local view.
  std::vector<node_card> viewed_cards() const {
    auto result = all_cards();
    for (auto& card : result)
      card.info.status = view_of(card);
    return result;
  }

  std::vector<member_info> members() const {
    std::vector<member_info> result;
    for (auto& card : viewed_cards())
      result.push_back(card.info);
    for (auto& [id, info] : remembered)
      result.push_back(info);
    return result;
  }

  // The ring to send to `peer_id`: nothing (an empty state) when its card
  // shows it holds this version already.
  ring_state ring_for(const std::string& peer_id) const {
    auto i = cards.find(peer_id);
    if (i != cards.end() && i->second.info.ring_epoch == ring.version)
      return {};
    return ring;
  }

  // Peers worth gossiping with: not self, not down.
  std::vector<std::string> live_peers() const {
    std::vector<std::string> result;
    for (auto& [id, card] : cards)
      if (id != self_id && view_of(card) != member_status::down)
        result.push_back(id);
    return result;
  }
};

using gossiper_pointer = gossiper_node_actor::stateful_pointer<gossiper_state>;

// The messages that change this node's own card or ring (leave, stopping,
// routed, handoff, a planned ring) come only from this node's own actors.
// CAF checks typed interfaces when a message is sent, not when it arrives,
// so a peer or client could send them: it is refused here.
bool from_this_node(gossiper_pointer self, const char* what) {
  auto& sender = self->current_sender();
  if (sender && sender->node() == self->node())
    return true;
  log_line(log_level::warning, std::string{"ignoring '"} + what
                                 + "' from outside this node");
  return false;
}

// Does `incoming` change what the claimant decides on?
bool changes_ring(const member_info& known, const member_info& incoming) {
  return known.dc != incoming.dc || known.ring_epoch != incoming.ring_epoch
         || known.handoff_done != incoming.handoff_done
         || (known.status == member_status::leaving)
              != (incoming.status == member_status::leaving);
}

// Saves what the ring is made of (not heartbeats or liveness) when it
// changed. Rare (membership changes) and small, so written in place.
void save_ring_members(gossiper_state& st,
                       const std::vector<member_info>& members) {
  if (st.settings.state_dir.empty())
    return;
  std::vector<member_info> durable;
  for (auto m : members) {
    m.heartbeat = 0;
    if (m.status != member_status::leaving)
      m.status = member_status::up;
    durable.push_back(std::move(m));
  }
  std::sort(durable.begin(), durable.end(),
            [](auto& x, auto& y) { return x.node_id < y.node_id; });
  auto text = encode_membership(durable);
  if (text == st.saved_membership)
    return;
  try {
    save_membership(st.settings.state_dir, durable);
    st.saved_membership = std::move(text);
  } catch (const storage_error& e) {
    log_line(log_level::error,
             std::string{"cannot save the membership: "} + e.what());
  }
}

void publish_cards(gossiper_pointer self) {
  auto& st = self->state;
  auto cards = st.viewed_cards();
  self->send(st.coordinator, members_atom::value, cards);
  for (auto& listener : st.card_listeners)
    self->send(listener, members_atom::value, cards);
  self->send(st.hint_buffer, members_atom::value, std::move(cards));
}

// Takes `incoming` if it supersedes the ring held: saved first, then shown
// in this node's card (peers and the claimant read it as "holds it").
void adopt_ring(gossiper_pointer self, const ring_state& incoming,
                const std::string& sender);

// Takes a node that is not of this cluster out of the membership (it was
// heard of before it joined another cluster, or while this node had none),
// so it is neither gossiped on nor waited for.
void forget_member(gossiper_pointer self, const std::string& id,
                   const std::string& why) {
  auto& st = self->state;
  auto card = st.cards.find(id);
  if (id == st.self_id || card == st.cards.end())
    return;
  if (st.forgotten_order.size() >= max_gossip_cards) {
    st.forgotten.erase(st.forgotten_order.front());
    st.forgotten_order.pop_front();
  }
  auto process = removal_name(card->second.info);
  if (st.forgotten.insert(process).second)
    st.forgotten_order.push_back(process);
  st.cards.erase(card);
  log_line(log_level::warning, "forgetting member " + id + ": " + why);
  st.detector->remove(id);
  st.links.erase(id);
  st.offsets.forget(id);
}

// Hands the members and the ring to the ring manager; a ring change it
// planned (this node being the claimant) comes back.
void publish_ring(gossiper_pointer self) {
  auto& st = self->state;
  auto members = st.members();
  save_ring_members(st, members);
  self
    ->request(st.ring_manager, caf::infinite, members_atom::value,
              std::move(members), st.ring)
    .then([=](ring_state& planned) {
            adopt_ring(self, planned, self->state.self_id);
          },
          [](caf::error&) {});
}

// Cards of another cluster than this node's (taken while it had none)
// leave the membership: this node never gossips them on.
void forget_other_clusters(gossiper_pointer self) {
  auto& st = self->state;
  std::vector<std::string> foreign;
  for (auto& [id, card] : st.cards)
    if (id != st.self_id && !same_cluster(card.info.cluster, st.cluster()))
      foreign.push_back(id);
  for (auto& id : foreign)
    forget_member(self, id, "it belongs to cluster "
                              + st.cards.at(id).info.cluster);
}

// `sender`: the node that gossiped it (this node's id for its own plans).
void adopt_ring(gossiper_pointer self, const ring_state& incoming,
                const std::string& sender) {
  auto& st = self->state;
  if (incoming.version == 0)
    return;
  // An unnamed ring (from before names) takes the name its claimant gives
  // it, which members of its ring pass on; a named ring from anyone else
  // may be another cluster's.
  if (st.ring.version != 0 && st.cluster().empty() && !incoming.cluster.empty()
      && sender != st.self_id && !on_ring(st.ring, sender)) {
    st.foreign_warnings.line(log_level::warning,
                             "ignoring a ring of cluster " + incoming.cluster
                               + " from " + sender
                               + ": not a member of this node's ring");
    return;
  }
  // A named cluster never goes back to no name: an unnamed ring is
  // another cluster's (or one from before names).
  if (st.ring.version != 0
      && (!same_cluster(incoming.cluster, st.cluster())
          || (incoming.cluster.empty() && !st.cluster().empty()))) {
    st.foreign_warnings.line(log_level::warning,
                             "ignoring a ring of cluster " + incoming.cluster
                               + ": this node belongs to cluster "
                               + st.cluster());
    return;
  }
  if (!supersedes(incoming, st.ring))
    return;
  if (!st.settings.state_dir.empty()) {
    try {
      save_ring(st.settings.state_dir, incoming);
    } catch (const storage_error& e) {
      // Not shown as held when it could not be kept: after a restart this
      // node would serve with an older ring than it acknowledged.
      log_line(log_level::error,
               std::string{"cannot save the ring: "} + e.what());
      return;
    }
  }
  if (incoming.current != st.ring.current || incoming.next != st.ring.next)
    log_line(log_level::info,
             "ring version " + std::to_string(incoming.version) + " ("
               + std::to_string(incoming.current.ids.size()) + " member(s)"
               + (incoming.transition != 0
                    ? ", " + std::to_string(incoming.next.ids.size())
                        + " after the change in transfer"
                    : std::string{})
               + ")");
  st.ring = incoming;
  auto& own = st.own().info;
  if (own.cluster != st.cluster()) {
    own.cluster = st.cluster();
    ++own.heartbeat;
    forget_other_clusters(self);
    publish_cards(self);
  }
  // The card shows the version once the coordinator routes with it
  // (routed_atom), not here: writes placed with the old one may be in
  // flight.
  publish_ring(self);
}

// Connects to host:port through the connector (never blocking this actor).
// `on_error` gets why not.
template <class OnCoordinator, class OnError>
void dial_coordinator(gossiper_pointer self, const std::string& host,
                      uint16_t port, OnCoordinator on_coordinator,
                      OnError on_error) {
  auto& st = self->state;
  self
    ->request(st.connector, connect_limit(st.settings.connector),
              caf::connect_atom::value, host, port)
    .then([=](coordinator_actor& coordinator) { on_coordinator(coordinator); },
          [=](caf::error& err) { on_error(err); });
}

// Connects to host:port and asks the node there for its gossiper.
template <class OnGossiper, class OnError>
void dial(gossiper_pointer self, const std::string& host, uint16_t port,
          OnGossiper on_gossiper, OnError on_error) {
  auto timeout = reconnect_timeout(self->state.settings);
  dial_coordinator(
    self, host, port,
    [=](coordinator_actor& coordinator) {
      self->request(coordinator, timeout, join_atom::value)
        .then([=](gossiper_actor& peer) { on_gossiper(peer); },
              [=](caf::error& err) { on_error(err); });
    },
    on_error);
}

// Monitors every actor of a peer's card that is not watched yet. They
// usually go away together (the peer stops, the connection drops), but CAF
// can also drop the proxies of single remote actors while the connection
// lives on (seen after restarts under partitions: a peer's stores answered
// "receiver down" while its coordinator and gossiper worked): any of them
// going away means the card's handles must be fetched again.
void monitor_new_handles(gossiper_pointer self, const node_card& card,
                         const node_card* known) {
  auto old = known ? handles_of(*known) : std::vector<caf::strong_actor_ptr>{};
  for (auto& handle : handles_of(card))
    if (std::none_of(old.begin(), old.end(), [&](auto& x) {
          return x.get() == handle.get();
        }))
      self->monitor(handle);
}

// Starts watching a peer's actors afresh (a new member or incarnation).
void watch(gossiper_pointer self, const node_card& card) {
  monitor_new_handles(self, card, nullptr);
  self->state.links[card.info.node_id] = peer_link{};
}

// Why a card from the network cannot be taken, if it cannot. Every actor of
// the card is used later (monitored, asked), so a null handle must never get
// past here: it crashed the coordinator once.
std::optional<std::string> card_problem(const node_card& card) {
  if (auto problem = member_problem(card.info))
    return problem;
  if (!card.coordinator || !card.gossiper || !card.hints)
    return "card of " + card.info.node_id + " lacks actor handles";
  if (card.stores.empty() || card.stores.size() > max_store_shards)
    return "card of " + card.info.node_id + " has "
           + std::to_string(card.stores.size()) + " stores";
  for (auto& store : card.stores)
    if (!store)
      return "card of " + card.info.node_id + " has a null store handle";
  return std::nullopt;
}

// With TLS: why `card` is not what its node signed (logged), or nullopt.
std::optional<std::string> identity_problem(gossiper_state& st,
                                            const node_card& card) {
  if (!st.settings.identities)
    return std::nullopt;
  auto problem = card_identity_problem(*st.settings.identities, card);
  if (problem)
    st.identity_warnings.line(log_level::warning,
                              "ignoring a gossiped card: " + *problem);
  return problem;
}

std::string id_in_use(const node_card& holder) {
  return "node id " + holder.info.node_id + " is in use by a live node at "
         + holder.info.host + ":" + std::to_string(holder.info.port)
         + " (incarnation " + std::to_string(holder.info.incarnation)
         + "); this process must not serve under it";
}

void reconnect(gossiper_pointer self, const std::string& id);

// A node of a cluster whose ring has no name yet (saved by an earlier
// version) matches any cluster by name; a named cluster takes it only if
// it is one of its own ring's members, still unnamed during the upgrade,
// or a node it already knows (one waiting to join).
bool holds_unnamed_ring(const gossiper_state& st, const member_info& peer) {
  if (st.cluster().empty() || !peer.cluster.empty() || peer.ring_epoch == 0
      || on_ring(st.ring, peer.node_id))
    return false;
  return st.cards.count(peer.node_id) == 0
         && st.remembered.count(peer.node_id) == 0;
}

// Ends an other_cluster refusal: which process refused, so a peer that
// reached this address by dialling knows whether it is the member it knew.
std::string refused_by(const std::string& id, uint64_t incarnation) {
  return " [refused by " + id + "/" + std::to_string(incarnation) + "]";
}

std::string other_cluster(const gossiper_state& st, const member_info& peer) {
  auto& own = st.cards.at(st.self_id).info;
  return "node " + peer.node_id + " at " + peer.host + ":"
         + std::to_string(peer.port) + " belongs to cluster " + peer.cluster
         + ", this node (" + st.self_id + ") to cluster " + st.cluster()
         + ": clusters never exchange members or rings (check the seeds)"
         + refused_by(own.node_id, own.incarnation);
}

// Merges gossiped cards. Returns why the sender's own card was refused (its
// id belongs to another live incarnation, or it is of another cluster), if
// it was.
std::optional<caf::error> merge(gossiper_pointer self,
                                const std::string& sender,
                                std::vector<node_card>& incoming,
                                const std::vector<std::string>& sender_suspects) {
  auto& st = self->state;
  std::optional<caf::error> refusal;
  if (incoming.size() > max_gossip_cards
      || sender_suspects.size() > max_gossip_cards) {
    log_line(log_level::warning, "ignoring a gossip message with "
                                   + std::to_string(incoming.size())
                                   + " cards: above the bound");
    return refusal;
  }
  auto now = failure_detector::clock::now();
  bool ring_changed = false;
  bool cards_changed = false;
  // One card per node and message: signatures cost, and a message may
  // carry many cards under one id.
  std::set<std::string> seen;
  for (auto& card : incoming) {
    if (auto problem = card_problem(card)) {
      log_line(log_level::warning, "ignoring a gossiped card: " + *problem);
      continue;
    }
    auto id = card.info.node_id;
    if (id == st.self_id || !seen.insert(id).second)
      continue; // only this node speaks for itself
    if (!same_cluster(card.info.cluster, st.cluster())) {
      // A member of another cluster would be taken for a node waiting to
      // join this one, and the claimant would give it partitions. (A known
      // node that joined another cluster is forgotten when its own gossiper
      // answers `other_cluster`: the sender named here may be forged.)
      if (id == sender)
        refusal = make_kv_error(kv_errc::other_cluster,
                                other_cluster(st, card.info));
      continue;
    }
    if (holds_unnamed_ring(st, card.info)) {
      if (id == sender)
        refusal = make_kv_error(
          kv_errc::unnamed_cluster,
          "node " + id + " holds a ring of a cluster without a name, not "
            + st.cluster() + " (check the seeds, or upgrade that cluster)");
      continue;
    }
    auto known = st.cards.find(id);
    // Only a card that would change something is checked: a signature per
    // member and round, not per card received.
    bool news = known == st.cards.end()
                || card.info.incarnation != known->second.info.incarnation
                || card.info.heartbeat > known->second.info.heartbeat;
    if (!news)
      continue;
    if (auto problem = identity_problem(st, card)) {
      if (id == sender)
        refusal = make_kv_error(kv_errc::not_authenticated, *problem);
      continue;
    }
    if (known == st.cards.end()) {
      // A forgotten process is taken back only from itself (it joined this
      // cluster after all), never from a peer's stale copy of its card.
      auto process = removal_name(card.info);
      if (st.forgotten.count(process) > 0) {
        if (id != sender)
          continue;
        st.forgotten.erase(process);
      }
    }
    if (known == st.cards.end()) {
      st.remembered.erase(id);
      log_line(log_level::info, "member " + id + " (" + card.info.dc + ", "
                                  + card.info.host + ":"
                                  + std::to_string(card.info.port)
                                  + ") joined the membership");
      st.detector->add(id, now);
      st.detector->observe_heartbeat(id, card.info.heartbeat, now);
      watch(self, card);
      st.cards.emplace(id, std::move(card));
      // A direct connection, so messages to its actors stop travelling
      // through whoever told us about it.
      reconnect(self, id);
      ring_changed = cards_changed = true;
    } else if (card.info.incarnation != known->second.info.incarnation) {
      // Another process under a known id: a wiped node that came back, or a
      // second one started by mistake. Heartbeats of two incarnations do not
      // compare; the one that is alive keeps the id. Only the process itself
      // is believed: a relayed card of another incarnation may be an old
      // one, gossiped late, and taking it would flip the card back and get
      // the live process refused.
      if (id != sender)
        continue;
      if (st.view_of(known->second) != member_status::down) {
        refusal = make_kv_error(kv_errc::duplicate_node,
                                id_in_use(known->second));
        continue;
      }
      log_line(log_level::warning,
               "member " + id + " is back with a new incarnation ("
                 + std::to_string(card.info.incarnation) + ", was "
                 + std::to_string(known->second.info.incarnation)
                 + "): its data directory is new");
      st.detector->remove(id);
      st.detector->add(id, now);
      st.detector->observe_heartbeat(id, card.info.heartbeat, now);
      st.offsets.forget(id);
      watch(self, card);
      known->second = std::move(card);
      reconnect(self, id);
      ring_changed = cards_changed = true;
    } else if (card.info.heartbeat > known->second.info.heartbeat) {
      // Only the node itself says it is stopping; a relayed copy could be
      // stale or forged, and is taken as a plain heartbeat.
      if (card.info.status == member_status::down && id == sender)
        st.detector->observe_stop(id, card.info.heartbeat);
      else
        st.detector->observe_heartbeat(id, card.info.heartbeat, now);
      bool ring_news = changes_ring(known->second.info, card.info);
      ring_changed |= ring_news;
      // The handoff waits for every member to route with a new ring.
      cards_changed |= ring_news;
      // New proxies for the same actors (the old connection dropped) must
      // reach the coordinator: the old ones are dead.
      bool new_handles = !same_handles(known->second, card);
      cards_changed |= new_handles
                       || known->second.info.status != card.info.status;
      if (new_handles)
        monitor_new_handles(self, card, &known->second);
      known->second = std::move(card);
    }
  }
  if (!sender.empty() && sender != st.self_id && st.cards.count(sender) > 0)
    st.detector->observe_report(sender, sender_suspects, now);
  if (ring_changed)
    publish_ring(self);
  if (cards_changed)
    publish_cards(self);
  return refusal;
}

void report_id_conflict(gossiper_pointer self, const caf::error& err) {
  auto& st = self->state;
  if (st.id_conflict_reported)
    return;
  st.id_conflict_reported = true;
  log_line(log_level::error, describe(err));
  if (st.settings.on_id_conflict)
    st.settings.on_id_conflict(describe(err));
}

// `attempt`: the reconnect that failed, or 0 for news that holds whatever
// is under way (the connection dropped).
void link_failed(gossiper_pointer self, const std::string& id,
                 const std::string& why, uint64_t attempt) {
  auto& st = self->state;
  auto i = st.links.find(id);
  if (i == st.links.end() || (attempt != 0 && i->second.attempt != attempt))
    return;
  auto& link = i->second;
  link.attempt = 0;
  // A node that is down is redialed far less often: when it comes back it
  // gossips first, and that repairs the link too.
  auto longest = st.settings.reconnect_max;
  if (st.detector->status_of(id) == member_status::down)
    longest *= 8;
  link.backoff = std::clamp(link.backoff * 2, st.settings.reconnect_min,
                            longest);
  link.next_try = steady::now() + link.backoff;
  if (!link.broken) {
    link.broken = true;
    log_line(log_level::warning, "no connection to " + id + " (" + why
                                   + "); it is suspect here until one is back");
    publish_cards(self);
  }
}

// Takes a peer's card as the peer itself sent it over a connection just
// made (reconnect `attempt`): its handles are the ones that work.
void link_repaired(gossiper_pointer self, node_card fresh, uint64_t attempt) {
  auto& st = self->state;
  auto id = fresh.info.node_id;
  auto known = st.cards.find(id);
  auto link = st.links.find(id);
  if (known == st.cards.end() || link == st.links.end()
      || link->second.attempt != attempt)
    return;
  // Not older than the card held: an answer at the peer's address must
  // not bring back the handles of a process it ran before.
  if (card_problem(fresh)
      || fresh.info.incarnation != known->second.info.incarnation
      || fresh.info.heartbeat < known->second.info.heartbeat) {
    link_failed(self, id, "its answer did not carry its own card", attempt);
    return;
  }
  // Whoever answered at the peer's address named itself: only a card the
  // peer signed proves the handles are the peer's.
  if (auto problem = identity_problem(st, fresh)) {
    link_failed(self, id, "its answer carried no valid card: " + *problem,
                attempt);
    return;
  }
  bool was_broken = st.link_broken(id);
  bool new_handles = !same_handles(known->second, fresh);
  if (new_handles)
    monitor_new_handles(self, fresh, &known->second);
  st.links[id] = peer_link{};
  known->second.coordinator = std::move(fresh.coordinator);
  known->second.stores = std::move(fresh.stores);
  known->second.gossiper = std::move(fresh.gossiper);
  known->second.hints = std::move(fresh.hints);
  if (was_broken)
    log_line(log_level::info, "connection to " + id + " is back");
  if (was_broken || new_handles)
    publish_cards(self);
}

// One gossip exchange. With `direct_id`, `peer` was reached over a fresh
// connection to that node (reconnect `attempt`), and the handles in its own
// card replace the ones known.
void exchange_with(gossiper_pointer self, const gossiper_actor& peer,
                   const std::string& peer_id, std::string direct_id = {},
                   uint64_t attempt = 0) {
  auto& st = self->state;
  auto sent_ms = wall_clock_ms();
  self
    ->request(peer,
              direct_id.empty() ? st.settings.interval * 3
                                : reconnect_timeout(st.settings),
              gossip_atom::value, st.self_id,
              st.gossiped_cards(), st.detector->suspects(), sent_ms,
              st.ring_for(peer_id))
    .then(
      [=](const std::string& sender, std::vector<node_card>& cards,
          const std::vector<std::string>& suspects, uint64_t peer_ms,
          const ring_state& peer_ring) {
        auto& st = self->state;
        st.seeded = true;
        if (st.cards.count(sender) > 0 && sender != st.self_id)
          st.offsets.observe(sender, sent_ms, peer_ms, wall_clock_ms(),
                             steady::now());
        std::optional<node_card> own_card;
        if (!direct_id.empty())
          for (auto& card : cards)
            if (card.info.node_id == direct_id && sender == direct_id)
              own_card = card;
        merge(self, sender, cards, suspects);
        adopt_ring(self, peer_ring, sender);
        if (!direct_id.empty()) {
          if (own_card)
            link_repaired(self, std::move(*own_card), attempt);
          else
            link_failed(self, direct_id, "another node answered at its address",
                        attempt);
        }
      },
      [=](caf::error& err) {
        if (is_kv_error(err, kv_errc::duplicate_node))
          report_id_conflict(self, err);
        if (is_kv_error(err, kv_errc::not_authenticated))
          self->state.identity_warnings.line(log_level::error,
                                             "refused by a peer: "
                                               + describe(err));
        if (is_kv_error(err, kv_errc::other_cluster)) {
          self->state.foreign_warnings.line(log_level::warning,
                                            "refused by a peer: "
                                              + describe(err));
          // The peer is not of this cluster (it joined another one): its
          // own gossiper (the handle of its card) said so, or the process
          // that answered at its address after a dial is the one known.
          auto& st = self->state;
          auto known = st.cards.find(peer_id);
          bool same_process
            = known != st.cards.end()
              && describe(err).find(refused_by(
                   peer_id, known->second.info.incarnation))
                   != std::string::npos;
          if (!peer_id.empty() && (direct_id.empty() || same_process)) {
            forget_member(self, peer_id, describe(err));
            publish_ring(self);
            publish_cards(self);
          }
        }
        if (!direct_id.empty())
          link_failed(self, direct_id, describe(err), attempt);
        // Otherwise a silent peer: its heartbeat stops advancing here, which
        // is what the failure detector watches.
      });
}

// Connects to a known peer again (or for the first time directly) and takes
// its handles from a direct exchange.
void reconnect(gossiper_pointer self, const std::string& id) {
  auto& st = self->state;
  auto card = st.cards.find(id);
  auto link = st.links.find(id);
  if (card == st.cards.end() || link == st.links.end()
      || link->second.attempt != 0)
    return;
  auto attempt = link->second.attempt = ++st.last_attempt;
  auto& info = card->second.info;
  dial(
    self, info.host, info.port,
    [=](gossiper_actor& peer) { exchange_with(self, peer, id, id, attempt); },
    [=](const caf::error& err) {
      link_failed(self, id, describe(err), attempt);
    });
}

// Seed handshake: connect, ask the seed's coordinator for its gossiper,
// exchange lists. One attempt per address at a time.
void contact_seed(gossiper_pointer self, const seed_address& seed) {
  auto address = seed.host + ":" + std::to_string(seed.port);
  if (!self->state.dialing_seeds.insert(address).second)
    return;
  dial(
    self, seed.host, seed.port,
    [=](gossiper_actor& peer) {
      self->state.dialing_seeds.erase(address);
      exchange_with(self, peer, std::string{});
    },
    [=](const caf::error& err) {
      // The seed is not up (yet): retried next round.
      self->state.dialing_seeds.erase(address);
      auto why = describe(err); // "unavailable: cannot reach ADDRESS: ..."
      if (why.find(address) == std::string::npos)
        why = address + ": " + why;
      else if (auto at = why.find("cannot reach"); at != std::string::npos)
        why.erase(0, at);
      self->state.seed_failures[address] = std::move(why);
    });
}

// Warns (every 30 s) while no configured seed has answered for a few
// rounds, naming each seed and why it failed; says so once one answers.
void watch_seeds(gossiper_pointer self) {
  auto& st = self->state;
  if (st.seeded) {
    if (st.warned_unseeded)
      log_line(log_level::info, "a seed answered: this node is in the "
                                "cluster now");
    st.warned_unseeded = false;
    st.unseeded_rounds = 0;
    return;
  }
  constexpr unsigned rounds_before_warning = 5;
  if (st.seed_failures.empty() || ++st.unseeded_rounds < rounds_before_warning
      || steady::now() < st.next_seed_warning)
    return;
  std::string tried;
  for (auto& [address, why] : st.seed_failures)
    tried += (tried.empty() ? "" : "; ") + why;
  log_line(log_level::warning,
           "no seed reachable after " + std::to_string(st.unseeded_rounds)
             + " gossip rounds (" + tried
             + "); this node keeps trying and until then serves alone");
  st.warned_unseeded = true;
  st.next_seed_warning = steady::now() + std::chrono::seconds{30};
}

// The coordinator converts deadlines with these; sent when they change.
void publish_offsets(gossiper_pointer self) {
  auto& st = self->state;
  auto usable = st.offsets.usable(steady::now());
  if (usable == st.published_offsets)
    return;
  std::vector<std::string> ids;
  std::vector<int64_t> values;
  for (auto& [id, offset] : usable) {
    ids.push_back(id);
    values.push_back(offset);
  }
  st.published_offsets = std::move(usable);
  self->send(st.coordinator, offsets_atom::value, std::move(ids),
             std::move(values));
}

void log_transitions(const std::vector<status_change>& changes) {
  for (auto& change : changes)
    log_line(change.to == member_status::up ? log_level::info
                                            : log_level::warning,
             "member " + change.node_id + " is " + to_string(change.to)
               + " (was " + to_string(change.from) + ")");
}

void gossip_round(gossiper_pointer self) {
  auto& st = self->state;
  ++st.own().info.heartbeat;
  auto now = failure_detector::clock::now();
  // A round far later than scheduled means this node was stalled (paused,
  // starved): what it did not hear meanwhile is its own fault, not the
  // peers' (as Cassandra's "local pause" check).
  if (st.last_round.time_since_epoch().count() != 0
      && now - st.last_round > st.settings.detection.suspect_after) {
    log_line(log_level::warning,
             "gossip stalled locally for "
               + std::to_string(std::chrono::duration_cast<milliseconds>(
                                  now - st.last_round)
                                  .count())
               + " ms; not judging peers by that silence");
    st.detector->forgive_local_pause(now);
  }
  st.last_round = now;
  auto changes = st.detector->evaluate(now);
  if (!changes.empty()) {
    log_transitions(changes);
    publish_cards(self);
  }
  publish_offsets(self);
  for (auto& [id, link] : st.links)
    if (link.broken && link.attempt == 0 && steady::now() >= link.next_try)
      reconnect(self, id);
  auto peers = st.live_peers();
  watch_seeds(self);
  if (!st.seeded || peers.empty()) {
    for (auto& seed : st.settings.seeds)
      if (!names_node(seed, st.own().info.host, st.own().info.port))
        contact_seed(self, seed);
    // Members remembered from the last run are seeds too: after a restart
    // of the whole cluster the configured seeds may be the last to return.
    for (auto& [id, info] : st.remembered)
      contact_seed(self, seed_address{info.host, info.port});
  }
  std::shuffle(peers.begin(), peers.end(), st.rng);
  peers.resize(std::min<std::size_t>(peers.size(), st.settings.fanout));
  // One random down node per round too, so a node that comes back is
  // noticed even if it does not gossip first.
  for (auto& [id, card] : st.cards)
    if (id != st.self_id && st.view_of(card) == member_status::down
        && std::uniform_int_distribution<int>{0, 3}(st.rng) == 0) {
      peers.push_back(id);
      break;
    }
  for (auto& id : peers)
    exchange_with(self, st.cards.at(id).gossiper, id);
  // Every round, not only on changes: the claimant's readiness depends on
  // the others' acknowledgements, which arrive as heartbeats.
  publish_ring(self);
  self->delayed_send(self, st.settings.interval, round_atom::value);
}

// Why this node may not join another cluster, if it may not: only a node
// alone (its ring lists only itself, or it has none) and idle joins. A
// member of a cluster leaves it and starts again on an empty directory.
std::optional<std::string> join_refusal(const gossiper_state& st) {
  if (st.joining)
    return std::string{"a join is already under way"};
  auto& r = st.ring;
  auto members = ring_member_ids(r);
  bool member = on_ring(r, st.self_id);
  // On a ring with others: a member. Not on its ring at all (a join that
  // never got through, its cluster gone) and knowing no live node, it may
  // try again.
  if (member && members.size() > 1)
    return st.self_id + " is in cluster " + r.cluster + " with "
           + std::to_string(members.size())
           + " member(s) on its ring: only a node alone joins another "
             "cluster (a member leaves, then starts again on an empty data "
             "directory)";
  if (member && (r.transition != 0 || !r.previous.empty()))
    return st.self_id + "'s ring is changing: join once it has settled";
  // Hints are writes owed to its cluster.
  auto& own = st.cards.at(st.self_id).info;
  if (own.load.hints > 0)
    return st.self_id + " holds " + std::to_string(own.load.hints)
           + " hint(s) for cluster " + r.cluster
           + ": join once they are delivered";
  if (was_removed(r, own))
    return st.self_id + " left cluster " + r.cluster
           + " or was removed from it: start it on an empty data directory "
             "to join another";
  std::string live;
  for (auto& [id, card] : st.cards)
    if (id != st.self_id && st.view_of(card) != member_status::down)
      live += (live.empty() ? "" : ", ") + id;
  if (!live.empty())
    return st.self_id + " knows live members (" + live
           + "): only a node alone joins another cluster";
  if (st.cards.at(st.self_id).info.status == member_status::leaving)
    return st.self_id + " is leaving";
  return std::nullopt;
}

// Why the cluster of the node at `seed` (its ring and members) cannot take
// this node, if it cannot.
std::optional<std::string> join_refusal(const gossiper_state& st,
                                        const ring_state& theirs,
                                        const std::vector<member_info>& members,
                                        const std::string& seed) {
  if (theirs.version == 0)
    return "the node at " + seed + " has no ring yet: it is not in a cluster";
  if (!theirs.cluster.empty() && theirs.cluster == st.cluster())
    return "the node at " + seed + " is in this node's cluster already";
  if (on_ring(theirs, st.self_id))
    return "node id " + st.self_id + " is on the ring of the cluster at "
           + seed + ": start this node with another --node-id";
  for (auto& m : members)
    if (m.node_id == st.self_id)
      return "node id " + st.self_id + " is a member of the cluster at "
             + seed + " (" + to_string(m.status)
             + " there): start this node with another --node-id";
  return std::nullopt;
}

// Takes the ring of the cluster this node joins in place of its own: the
// versions of two clusters do not compare, so it is taken as it is. The
// node's card starts afresh (no version routed, no copy reported: numbers
// of its old cluster mean nothing in the new one). The records it holds
// stay; once the new ring settles, its partition cleaner hands those of
// partitions it does not own to their owners.
std::optional<std::string> switch_cluster(gossiper_pointer self,
                                          const ring_state& theirs,
                                          const std::vector<member_info>& members,
                                          const seed_address& seed) {
  auto& st = self->state;
  // The new cluster's members are remembered (and saved) like those of a
  // last run: contacted until they gossip, so the node finds its cluster
  // again after a restart even without seeds.
  std::map<std::string, member_info> remembered;
  for (auto m : members) {
    if (m.node_id == st.self_id || member_problem(m)
        || remembered.size() >= max_gossip_cards)
      continue;
    m.status = m.status == member_status::leaving ? member_status::leaving
                                                  : member_status::down;
    m.cluster = theirs.cluster;
    remembered.emplace(m.node_id, std::move(m));
  }
  if (!st.settings.state_dir.empty()) {
    std::vector<member_info> durable{st.own().info};
    for (auto& [id, m] : remembered)
      durable.push_back(m);
    try {
      save_membership(st.settings.state_dir, durable);
    } catch (const storage_error& e) {
      return std::string{"cannot save the membership: "} + e.what();
    }
    // Not what save_ring_members last wrote: the next save rewrites it
    // (with the old members, should the ring not be saved below).
    st.saved_membership.clear();
  }
  if (!st.settings.state_dir.empty()) {
    try {
      save_ring(st.settings.state_dir, theirs);
    } catch (const storage_error& e) {
      return std::string{"cannot save the ring: "} + e.what();
    }
  }
  log_line(log_level::info,
           "joining cluster " + theirs.cluster + " through "
             + seed.to_string() + " (its ring version "
             + std::to_string(theirs.version) + ", "
             + std::to_string(theirs.current.ids.size()) + " member(s))");
  st.ring = theirs;
  std::vector<std::string> old_members;
  for (auto& [id, card] : st.cards)
    if (id != st.self_id)
      old_members.push_back(id);
  for (auto& id : old_members)
    forget_member(self, id, "this node joined cluster " + theirs.cluster);
  st.remembered = std::move(remembered);
  auto& own = st.own().info;
  own.cluster = theirs.cluster;
  own.ring_epoch = 0;
  own.handoff_done = 0;
  ++own.heartbeat;
  st.settings.seeds = {seed};
  st.seeded = false;
  st.seed_failures.clear();
  publish_ring(self);
  publish_cards(self);
  return std::nullopt;
}

// An operator's join: reads the ring and members of the node at `seed`,
// checks that its cluster can take this node, switches to its ring and
// gossips with it.
void join_cluster(gossiper_pointer self, const seed_address& seed,
                  caf::typed_response_promise<std::string> promise) {
  auto rp = std::make_shared<caf::typed_response_promise<std::string>>(
    std::move(promise));
  auto fail = [=](const caf::error& err) {
    self->state.joining = false;
    rp->deliver(err);
  };
  auto finish = [=](const ring_state& theirs,
                    const std::vector<member_info>& members,
                    const gossiper_actor& peer) {
    auto& st = self->state;
    st.joining = false;
    auto why = join_refusal(st); // the node may have changed meanwhile
    if (!why)
      why = join_refusal(st, theirs, members, seed.to_string());
    if (!why)
      why = switch_cluster(self, theirs, members, seed);
    if (why) {
      rp->deliver(make_kv_error(kv_errc::invalid_argument, *why));
      return;
    }
    exchange_with(self, peer, std::string{});
    rp->deliver(st.self_id + " joins cluster " + theirs.cluster + " through "
                + seed.to_string()
                + ": the claimant adds it to the ring and it copies its "
                  "partitions (watch `ring`); records it held before go to "
                  "their owners once the ring has settled");
  };
  auto timeout = reconnect_timeout(self->state.settings);
  dial_coordinator(
    self, seed.host, seed.port,
    [=](coordinator_actor& node) {
      self->request(node, timeout, get_atom::value, ring_atom::value)
        .then(
          [=](ring_state& theirs) {
            self->request(node, timeout, get_atom::value, members_atom::value)
              .then(
                [=](std::vector<member_info>& members) {
                  self->request(node, timeout, join_atom::value)
                    .then(
                      [=](gossiper_actor& peer) {
                        finish(theirs, members, peer);
                      },
                      fail);
                },
                fail);
          },
          fail);
    },
    fail);
}

gossiper_node_actor::behavior_type
gossiper(gossiper_pointer self, gossiper_settings settings, node_card self_card,
         ring_manager_actor ring_manager, membership_listener_actor coordinator,
         hint_buffer_actor hint_buffer,
         std::vector<card_listener_actor> card_listeners,
         peer_connector_actor connector) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.self_id = self_card.info.node_id;
  st.detector.emplace(st.self_id, st.settings.detection);
  st.ring_manager = std::move(ring_manager);
  st.coordinator = std::move(coordinator);
  st.hint_buffer = std::move(hint_buffer);
  st.card_listeners = std::move(card_listeners);
  st.connector = std::move(connector);
  st.ring = st.settings.saved_ring;
  self_card.info.ring_epoch = st.ring.version;
  self_card.info.cluster = st.ring.cluster;
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    for (auto& [id, card] : st.cards) {
      if (id == st.self_id)
        continue;
      auto handles = handles_of(card);
      if (std::any_of(handles.begin(), handles.end(), [&](auto& handle) {
            return msg.source.get() == handle.get();
          })) {
        link_failed(self, id, "its connection or one of its actors dropped", 0);
        reconnect(self, id); // at once: it may only have been the connection
        break;
      }
    }
  });
  self_card.gossiper = caf::actor_cast<gossiper_actor>(self);
  // The heartbeat starts at the wall clock (ms) and then counts rounds, so a
  // restarted node's heartbeat is above anything it gossiped before (a round
  // takes at least a millisecond): peers take its new card at once, as with
  // Cassandra's generation number, without a second counter.
  self_card.info.heartbeat = wall_clock_ms();
  for (auto& m : st.settings.remembered)
    if (m.node_id != st.self_id) {
      auto& known = st.remembered[m.node_id] = m;
      known.status = m.status == member_status::leaving ? member_status::leaving
                                                        : member_status::down;
    }
  if (!st.remembered.empty())
    log_line(log_level::info,
             "remembered " + std::to_string(st.remembered.size())
               + " member(s) from the last run; they count as down until "
                 "they gossip");
  st.cards.emplace(st.self_id, std::move(self_card));
  publish_ring(self);
  publish_cards(self);
  self->send(self, round_atom::value);
  return {
    [=](gossip_atom, const std::string& sender, std::vector<node_card>& cards,
        const std::vector<std::string>& suspects, uint64_t,
        const ring_state& sender_ring)
      -> caf::result<std::string, std::vector<node_card>,
                     std::vector<std::string>, uint64_t, ring_state> {
      auto& st = self->state;
      // A seed address that leads back here (another spelling of this
      // node's address) makes a node gossip with itself: harmless. Only a
      // sender with this id but another incarnation is a duplicate.
      if (sender == st.self_id
          && std::any_of(cards.begin(), cards.end(), [&](const node_card& c) {
               return c.info.node_id == st.self_id
                      && c.info.incarnation != st.own().info.incarnation;
             }))
        return make_kv_error(kv_errc::duplicate_node, id_in_use(st.own()));
      // A gossip from a peer whose link is broken does not repair it: CAF
      // may have routed it through a third node, and the handles it brings
      // then reach the peer's gossiper but not its stores. Only a direct
      // connection made by the connector does (reconnect).
      if (auto refusal = merge(self, sender, cards, suspects))
        return std::move(*refusal);
      st.seeded = true;
      adopt_ring(self, sender_ring, sender);
      return caf::make_result(st.self_id, st.gossiped_cards(),
                              st.detector->suspects(), wall_clock_ms(),
                              st.ring_for(sender));
    },
    [=](get_atom, members_atom) { return self->state.members(); },
    [=](leave_atom) {
      if (!from_this_node(self, "leave"))
        return;
      auto& own = self->state.own().info;
      if (own.status != member_status::leaving)
        log_line(log_level::info, "leaving the ring: handing partitions over");
      own.status = member_status::leaving;
      ++own.heartbeat;
      publish_ring(self);
      publish_cards(self);
    },
    [=](ring_atom, const ring_state& planned) {
      if (from_this_node(self, "ring"))
        adopt_ring(self, planned, self->state.self_id);
    },
    [=](join_atom, const std::string& host,
        uint16_t port) -> caf::result<std::string> {
      if (!from_this_node(self, "join"))
        return make_kv_error(kv_errc::invalid_argument,
                             "a join is asked through the node's coordinator");
      auto& st = self->state;
      if (auto why = join_refusal(st))
        return make_kv_error(kv_errc::invalid_argument, *why);
      if (host.empty() || port == 0)
        return make_kv_error(kv_errc::invalid_argument,
                             "join: the seed needs a host and a port");
      st.joining = true;
      auto rp = self->make_response_promise<std::string>();
      join_cluster(self, seed_address{host, port}, rp);
      return rp;
    },
    [=](load_atom, const node_load& load) {
      // Travels with the card's next heartbeat; not worth a round of its own.
      if (from_this_node(self, "load"))
        self->state.own().info.load = load;
    },
    [=](stopping_atom) -> caf::result<ok_atom> {
      if (!from_this_node(self, "stopping"))
        return make_kv_error(kv_errc::invalid_argument,
                             "only the node itself announces its stop");
      auto& st = self->state;
      auto& own = st.own().info;
      own.status = member_status::down;
      ++own.heartbeat;
      auto peers = st.live_peers();
      auto rp = self->make_response_promise<ok_atom>();
      if (peers.empty()) {
        rp.deliver(ok_atom::value);
        return rp;
      }
      auto left = std::make_shared<std::size_t>(peers.size());
      auto answered = [rp, left]() mutable {
        if (--*left == 0 && rp.pending())
          rp.deliver(ok_atom::value);
      };
      for (auto& id : peers)
        self
          ->request(st.cards.at(id).gossiper, st.settings.interval,
                    gossip_atom::value, st.self_id, st.gossiped_cards(),
                    st.detector->suspects(), wall_clock_ms(), ring_state{})
          .then([answered](const std::string&, std::vector<node_card>&,
                           std::vector<std::string>&, uint64_t,
                           ring_state&) mutable { answered(); },
                [answered](caf::error&) mutable { answered(); });
      return rp;
    },
    [=](routed_atom, uint64_t version) {
      if (!from_this_node(self, "routed"))
        return;
      auto& own = self->state.own().info;
      if (own.ring_epoch == version)
        return;
      own.ring_epoch = version;
      ++own.heartbeat;
      publish_ring(self);
      publish_cards(self);
    },
    [=](handoff_atom, uint64_t transition) {
      if (!from_this_node(self, "handoff"))
        return;
      auto& own = self->state.own().info;
      if (own.handoff_done == transition)
        return;
      own.handoff_done = transition;
      ++own.heartbeat;
      publish_ring(self);
    },
    [=](round_atom) { gossip_round(self); },
  };
}

} // namespace

gossiper_actor spawn_gossiper(caf::actor_system& sys,
                              gossiper_settings settings, node_card self_card,
                              ring_manager_actor ring_manager,
                              membership_listener_actor coordinator,
                              hint_buffer_actor hint_buffer,
                              std::vector<card_listener_actor> card_listeners,
                              peer_connector_actor connector) {
  return sys.spawn(gossiper, std::move(settings), std::move(self_card),
                   std::move(ring_manager), std::move(coordinator),
                   std::move(hint_buffer), std::move(card_listeners),
                   std::move(connector));
}

} // namespace kv
