#pragma once

// Binds a gossip card to the certificate of the node it names. CAF's TLS
// accepts any certificate of the cluster CA and tells the application
// nothing about it, so a node with a valid certificate could otherwise
// claim another node's id, or relay another node's card with its status or
// heartbeat changed. Each node signs, with its own key, its whole card as
// it sends it (the member record, its actors and the CAF node they live
// on); every receiver checks the signature (and that every handle of the
// card lives on that CAF node) before it takes the card, whoever relayed
// it.

#include <optional>
#include <string>

#include "actors/security/node_identity.hpp"
#include "messages/interfaces.hpp"

namespace kv {

// What a node signs for its card (empty if the card cannot be encoded).
std::string identity_statement(const node_card& card);

// Why `card` does not prove that node card.info.node_id made it, or
// nullopt. Refuses a card whose handles live on different CAF nodes.
std::optional<std::string> card_identity_problem(identity_verifier& verifier,
                                                 const node_card& card);

} // namespace kv
