#pragma once

// What the status server serves, made from a node's figures and its view
// of the members: the Prometheus text format (version 0.0.4) and an HTML
// status page. Plain functions, unit-tested without sockets.

#include <string>
#include <vector>

#include "messages/membership.hpp"
#include "messages/node_stats.hpp"
#include "messages/ring_state.hpp"

namespace kv {

// Every metric with its HELP and TYPE lines; latency as summaries (the
// quantiles of the last minute, _sum and _count since the start).
std::string prometheus_text(const node_stats& stats,
                            const std::vector<member_info>& members);

// A page for people: the members with their status and load, this node's
// requests, hints, storage, transfers and anti-entropy, and the ring. It
// reloads itself every 5 s.
std::string status_page(const node_stats& stats,
                        std::vector<member_info> members,
                        const ring_state& ring);

} // namespace kv
