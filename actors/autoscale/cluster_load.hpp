#pragma once

// What the autoscaler reads from gossip: the cluster's load as one sample,
// and which node decides. Plain C++ over the ring and the member records.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/autoscale/scaling_policy.hpp"
#include "messages/membership.hpp"
#include "messages/ring_state.hpp"

namespace kv {

// One sample at `now_ms` (steady time) from the ring and the members as one
// node sees them: every ring member (but removed ones) with its gossiped
// load; `ring_changing` while a change is in transfer or draining, a node
// is waiting to join or leaving, or a member's load is missing or older
// than `stale_ms` (wall clock `wall_ms`): a decision then would act on
// what the cluster is not.
cluster_sample sample_cluster(const ring_state& ring,
                              const std::vector<member_info>& members,
                              uint64_t now_ms, uint64_t wall_ms,
                              uint64_t stale_ms);

// The node that decides: the smallest id among the ring's members that is
// up in this view (as the claimant), so exactly one node decides once
// views agree, and another takes over when it goes down. Empty if none.
// A member that left the ring but still runs (status leaving, on no
// assignment; not `self_id`): its shrink failed after the leave, or its
// decider went away. `since` tracks each one across calls (first seen,
// steady ms, without a break). The one stranded longest, once for at least
// `wait_ms` and with no change in transfer, is returned and forgotten (if
// it stays, it waits again), so a shrink another decider still runs is not
// taken over and one the provisioner keeps refusing does not starve the
// others.
std::optional<std::string>
stranded_leaver(std::map<std::string, uint64_t>& since, const ring_state& ring,
                const std::vector<member_info>& members,
                const std::string& self_id, uint64_t now_ms, uint64_t wait_ms);

std::string decider_of(const ring_state& ring,
                       const std::vector<member_info>& members,
                       const std::string& self_id);

// Whether `node`, whose own last load measurement (its clock) was
// `load_ms_at_leave` when the ring stopped listing it, may be stopped: it
// runs (its card says leaving) and a later measurement of its own shows no
// hint held. A hint it holds may be the only copy of an acknowledged write
// (sloppy quorum).
bool left_and_drained(const std::vector<member_info>& members,
                      const std::string& node, uint64_t load_ms_at_leave);

} // namespace kv
