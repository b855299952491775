#include "actors/membership/card_identity.hpp"

#include <caf/actor_cast.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/node_id.hpp>

namespace kv {

namespace {

caf::node_id home_of(const node_card& card) {
  return card.coordinator ? card.coordinator.node() : caf::node_id{};
}

} // namespace

std::string identity_statement(const node_card& card) {
  // The whole member record (status, heartbeat, ring epoch, handoff
  // progress, load...), the ids of the card's actors and the process they
  // live in, in CAF's own encoding: a relayed copy cannot be altered, and a
  // replayed one is older than what the receiver holds.
  std::vector<char> bytes;
  caf::binary_serializer sink{nullptr, bytes};
  auto info = card.info;
  std::vector<uint64_t> actors{card.coordinator.id(), card.gossiper.id(),
                               card.hints.id()};
  for (auto& store : card.stores)
    actors.push_back(store.id());
  auto home = caf::to_string(home_of(card));
  if (auto err = sink(info, actors, home))
    return {}; // cannot happen for these types; an empty statement fails
  return "kvactors card v2\n" + std::string{bytes.begin(), bytes.end()};
}

std::optional<std::string> card_identity_problem(identity_verifier& verifier,
                                                 const node_card& card) {
  auto home = home_of(card);
  auto elsewhere = [&](const auto& handle) {
    return !handle || handle.node() != home;
  };
  bool split = elsewhere(card.gossiper) || elsewhere(card.hints);
  for (auto& store : card.stores)
    split = split || elsewhere(store);
  if (split)
    return "card of " + card.info.node_id
           + " holds actor handles of more than one process";
  if (card.proof.empty())
    return "card of " + card.info.node_id
           + " carries no identity proof (is that node running without "
             "TLS?)";
  if (auto problem = verifier.problem(card.proof, card.info.node_id,
                                      identity_statement(card)))
    return "card of " + card.info.node_id + " is refused: " + *problem;
  return std::nullopt;
}

} // namespace kv
