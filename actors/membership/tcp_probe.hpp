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

// Why a TCP connect to host:port fails, in words; empty if it succeeds
// within `limit`.
std::string tcp_connect_problem(const std::string& host, uint16_t port,
                                std::chrono::milliseconds limit);

// Why this process cannot listen on host:port, in a sentence that names
// the fix ("port 4000 on 127.0.0.1 is already in use ..."); empty if a
// listening socket can be opened there. CAF only says "cannot_open_port".
std::string tcp_listen_problem(const std::string& host, uint16_t port);

// Whether `host` names this machine's loopback interface only (localhost,
// 127.0.0.0/8, ::1): what only local processes reach.
bool is_loopback_host(const std::string& host);

// Starts a non-blocking connect to host:port: the socket, to be polled for
// writing and then closed by the caller, or -1 with `error` set. (Name
// resolution itself can block; nodes use numeric addresses.)
int start_tcp_connect(const std::string& host, uint16_t port,
                      std::string& error);

// How a connect started above ended once the socket polled writable, in
// words; empty if it connected.
std::string tcp_connect_result(int fd);

} // namespace kv
