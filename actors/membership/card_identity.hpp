#pragma once

// Binds a gossip card to the certificate of the node it names. CAF's TLS
// accepts any certificate of the cluster CA and tells the application
// nothing about it, so a node with a valid certificate could otherwise
// claim another node's id. Each node signs, with its own key, a statement
// of its id, incarnation, address and the CAF node its actor handles live
// on; every receiver checks it (and that every handle of the card lives on
// that CAF node) before it takes the card, whoever relayed it.

#include <optional>
#include <string>

#include "actors/security/node_identity.hpp"
#include "messages/interfaces.hpp"

namespace kv {

// What a node signs for its card.
std::string identity_statement(const node_card& card);

// Why `card` does not prove that node card.info.node_id made it, or
// nullopt. Refuses a card whose handles live on different CAF nodes.
std::optional<std::string> card_identity_problem(identity_verifier& verifier,
                                                 const node_card& card);

} // namespace kv
