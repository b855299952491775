#pragma once

// CAF reports every failed connect as "ip_connect failed" and drops errno.
// A second, plain connect recovers the reason people need ("connection
// refused", "no route to host").

#include <chrono>
#include <cstdint>
#include <string>

namespace kv {

// Why a TCP connect to host:port fails, in words; empty if it succeeds.
std::string tcp_connect_problem(const std::string& host, uint16_t port,
                                std::chrono::milliseconds limit);

} // namespace kv
