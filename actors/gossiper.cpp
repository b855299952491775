#include "actors/gossiper.hpp"

#include <algorithm>
#include <map>
#include <random>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/log.hpp"

namespace kv {

std::optional<std::vector<seed_address>>
parse_seeds(const std::string& text, std::string& error) {
  std::vector<seed_address> result;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string::npos ? std::string::npos
                                                            : comma - pos);
    pos = comma == std::string::npos ? text.size() : comma + 1;
    if (item.empty())
      continue;
    auto colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) {
      error = "seed '" + item + "' is not host:port";
      return std::nullopt;
    }
    auto port_text = item.substr(colon + 1);
    if (!std::all_of(port_text.begin(), port_text.end(), ::isdigit)
        || port_text.size() > 5 || std::stoul(port_text) == 0
        || std::stoul(port_text) > 65535) {
      error = "seed '" + item + "' has an invalid port";
      return std::nullopt;
    }
    result.push_back(seed_address{item.substr(0, colon),
                                  static_cast<uint16_t>(std::stoul(port_text))});
  }
  return result;
}

namespace {

using std::chrono::milliseconds;

using round_atom = caf::atom_constant<caf::atom("round")>;

// The gossiper as it sees itself: the public interface plus its timer.
using gossiper_node_actor
  = gossiper_actor::extend<caf::reacts_to<round_atom>>;

struct gossiper_state {
  gossiper_settings settings;
  std::string self_id;
  std::map<std::string, node_card> cards; // by node id, self included
  ring_manager_actor ring_manager;
  coordinator_node_actor coordinator;
  std::minstd_rand rng{std::random_device{}()};
  bool seeded = false; // a seed or peer has answered

  static inline const char* name = "gossiper";

  node_card& own() { return cards.at(self_id); }

  std::vector<node_card> all_cards() const {
    std::vector<node_card> result;
    result.reserve(cards.size());
    for (auto& [id, card] : cards)
      result.push_back(card);
    return result;
  }

  std::vector<member_info> members() const {
    std::vector<member_info> result;
    for (auto& [id, card] : cards)
      result.push_back(card.info);
    return result;
  }

  std::vector<std::string> peers() const {
    std::vector<std::string> result;
    for (auto& [id, card] : cards)
      if (id != self_id)
        result.push_back(id);
    return result;
  }
};

using gossiper_pointer = gossiper_node_actor::stateful_pointer<gossiper_state>;

// Does `incoming` change what the ring or the coordinator need to know?
bool changes_shape(const member_info& known, const member_info& incoming) {
  return known.tokens != incoming.tokens || known.dc != incoming.dc
         || known.status != incoming.status || known.host != incoming.host
         || known.port != incoming.port;
}

void publish_membership(gossiper_pointer self) {
  auto& st = self->state;
  self->send(st.ring_manager, members_atom::value, st.members());
  self->send(st.coordinator, members_atom::value, st.all_cards());
}

// Opens a direct connection to a newly learned node, so messages to its
// actors stop travelling through whoever told us about it.
void connect_directly(gossiper_pointer self, const member_info& info) {
  self->request(self->system().middleman().actor_handle(),
                milliseconds{5000}, caf::connect_atom::value, info.host,
                info.port)
    .then([](const caf::node_id&, caf::strong_actor_ptr&,
             const std::set<std::string>&) {},
          [=](caf::error& err) {
            log_line(log_level::warning,
                     "cannot connect to " + info.node_id + " at " + info.host
                       + ":" + std::to_string(info.port) + ": "
                       + self->system().render(err));
          });
}

void merge(gossiper_pointer self, std::vector<node_card>& incoming) {
  auto& st = self->state;
  bool changed = false;
  for (auto& card : incoming) {
    auto& id = card.info.node_id;
    if (id == st.self_id)
      continue; // only this node speaks for itself
    auto known = st.cards.find(id);
    if (known == st.cards.end()) {
      log_line(log_level::info, "member " + id + " (" + card.info.dc + ", "
                                  + card.info.host + ":"
                                  + std::to_string(card.info.port)
                                  + ") joined the membership");
      connect_directly(self, card.info);
      st.cards.emplace(id, std::move(card));
      changed = true;
    } else if (card.info.heartbeat > known->second.info.heartbeat) {
      changed |= changes_shape(known->second.info, card.info)
                 || known->second.coordinator != card.coordinator;
      known->second = std::move(card);
    }
  }
  if (changed)
    publish_membership(self);
}

void exchange_with(gossiper_pointer self, const gossiper_actor& peer) {
  self->request(peer, self->state.settings.interval * 3, gossip_atom::value,
                self->state.all_cards())
    .then(
      [=](std::vector<node_card>& cards) {
        self->state.seeded = true;
        merge(self, cards);
      },
      [](caf::error&) {
        // A silent peer: the next round picks again (failure detection
        // decides whether it is down).
      });
}

// Seed handshake: connect, ask the seed's coordinator for its gossiper,
// exchange lists.
void contact_seed(gossiper_pointer self, const seed_address& seed) {
  auto timeout = self->state.settings.interval * 3;
  self->request(self->system().middleman().actor_handle(), timeout,
                caf::connect_atom::value, seed.host, seed.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr,
          const std::set<std::string>&) {
        if (!ptr)
          return;
        auto coordinator = caf::actor_cast<coordinator_actor>(ptr);
        self->request(coordinator, timeout, join_atom::value)
          .then([=](gossiper_actor& peer) { exchange_with(self, peer); },
                [](caf::error&) {});
      },
      [](caf::error&) {
        // The seed is not up (yet): retried next round.
      });
}

void gossip_round(gossiper_pointer self) {
  auto& st = self->state;
  ++st.own().info.heartbeat;
  auto peers = st.peers();
  if (!st.seeded || peers.empty())
    for (auto& seed : st.settings.seeds)
      if (!(seed.port == st.own().info.port
            && (seed.host == st.own().info.host)))
        contact_seed(self, seed);
  std::shuffle(peers.begin(), peers.end(), st.rng);
  peers.resize(std::min<std::size_t>(peers.size(), st.settings.fanout));
  for (auto& id : peers)
    exchange_with(self, st.cards.at(id).gossiper);
  self->delayed_send(self, st.settings.interval, round_atom::value);
}

gossiper_node_actor::behavior_type gossiper(gossiper_pointer self, gossiper_settings settings,
                       node_card self_card, ring_manager_actor ring_manager,
                       coordinator_node_actor coordinator) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.self_id = self_card.info.node_id;
  st.ring_manager = std::move(ring_manager);
  st.coordinator = std::move(coordinator);
  self_card.gossiper = caf::actor_cast<gossiper_actor>(self);
  st.cards.emplace(st.self_id, std::move(self_card));
  publish_membership(self);
  self->send(self, round_atom::value);
  return {
    [=](gossip_atom, std::vector<node_card>& cards) {
      self->state.seeded = true;
      merge(self, cards);
      return self->state.all_cards();
    },
    [=](get_atom, members_atom) { return self->state.members(); },
    [=](leave_atom) {
      auto& own = self->state.own().info;
      own.status = member_status::leaving;
      ++own.heartbeat;
      publish_membership(self);
    },
    [=](round_atom) { gossip_round(self); },
  };
}

} // namespace

gossiper_actor spawn_gossiper(caf::actor_system& sys,
                              gossiper_settings settings, node_card self_card,
                              ring_manager_actor ring_manager,
                              coordinator_node_actor coordinator) {
  return sys.spawn(gossiper, std::move(settings), std::move(self_card),
                   std::move(ring_manager), std::move(coordinator));
}

} // namespace kv
