#pragma once

#include <caf/atom.hpp>

namespace kv {

// Client operations.
using put_atom = caf::atom_constant<caf::atom("put")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using delete_atom = caf::atom_constant<caf::atom("delete")>;

// Replica store operations.
using coordinate_atom = caf::atom_constant<caf::atom("coordinate")>;
using apply_atom = caf::atom_constant<caf::atom("apply")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;

// Membership, ring, hints.
using gossip_atom = caf::atom_constant<caf::atom("gossip")>;
using members_atom = caf::atom_constant<caf::atom("members")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using ring_atom = caf::atom_constant<caf::atom("ring")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using hint_atom = caf::atom_constant<caf::atom("hint")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using monitor_atom = caf::atom_constant<caf::atom("monitor")>;
using offsets_atom = caf::atom_constant<caf::atom("offsets")>;

// Anti-entropy and handoff.
using tree_atom = caf::atom_constant<caf::atom("tree")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
using digest_atom = caf::atom_constant<caf::atom("digest")>;
using aae_atom = caf::atom_constant<caf::atom("aae")>;
using repair_atom = caf::atom_constant<caf::atom("repair")>;
using handoff_atom = caf::atom_constant<caf::atom("handoff")>;
using scan_atom = caf::atom_constant<caf::atom("scan")>;
using remove_atom = caf::atom_constant<caf::atom("remove")>;
using routed_atom = caf::atom_constant<caf::atom("routed")>;
using drained_atom = caf::atom_constant<caf::atom("drained")>;
using stopping_atom = caf::atom_constant<caf::atom("stopping")>;
using replace_atom = caf::atom_constant<caf::atom("replace")>;
using reap_atom = caf::atom_constant<caf::atom("reap")>;
using tombstones_atom = caf::atom_constant<caf::atom("tombstones")>;
using discard_atom = caf::atom_constant<caf::atom("discard")>;
using autoscale_atom = caf::atom_constant<caf::atom("autoscale")>;

using ok_atom = caf::atom_constant<caf::atom("ok")>;

} // namespace kv
