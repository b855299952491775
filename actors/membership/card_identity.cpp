#include "actors/membership/card_identity.hpp"

#include <caf/actor_cast.hpp>
#include <caf/node_id.hpp>

namespace kv {

namespace {

caf::node_id home_of(const node_card& card) {
  return card.coordinator ? card.coordinator.node() : caf::node_id{};
}

} // namespace

std::string identity_statement(const node_card& card) {
  auto& info = card.info;
  // Each field with its length: no field can run into the next, whatever
  // bytes it holds.
  std::string statement = "kvactors node identity v1";
  for (auto& field :
       {info.node_id, std::to_string(info.incarnation), info.dc, info.host,
        std::to_string(info.port), caf::to_string(home_of(card))})
    statement += "\n" + std::to_string(field.size()) + ":" + field;
  return statement;
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
