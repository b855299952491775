#pragma once

// A plain, bounded TCP connect. CAF 0.17's middleman connects blocking, one
// address at a time, so a black-holed address would stall every other
// connect of the node for the OS's SYN timeout; nodes probe first and only
// then let the middleman connect. CAF also reports every failed connect as
// "ip_connect failed" and drops errno: the probe recovers the reason people
// need ("connection refused", "no route to host").

#include <chrono>
#include <cstdint>
#include <string>

namespace kv {

// Why a TCP connect to host:port fails, in words; empty if it succeeds.
std::string tcp_connect_problem(const std::string& host, uint16_t port,
                                std::chrono::milliseconds limit);

} // namespace kv
