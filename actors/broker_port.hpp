#pragma once

// The start of a broker that serves a port of its own (the status server,
// the Redis gateway): it is asked to open its port and answers with the
// port it listens on, or the error after which it is stopped.

#include <cstdint>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>

namespace kv {

// What such a broker answers with its port: open its doorman now.
using open_atom = caf::atom_constant<caf::atom("open")>;

// Asks `broker` to open its port (5 s at most); on an error the broker
// is stopped.
caf::expected<uint16_t> open_broker_port(caf::actor_system& sys,
                                         const caf::actor& broker);

} // namespace kv
