#pragma once

// A blocking Redis-protocol client for kvcheck's workload through a node's
// Redis gateway (--resp-port): the fault checker can drive the store the
// way Redis clients do and judge the same history. set is SET (an
// overwrite: the unique keys' first write), put is KV.PUT (a blind write
// without a context keeps what it did not see as a sibling, as the set
// workload needs), get is KV.GET (every sibling and the context), remove is
// DEL (kvcheck deletes what its own SET wrote).
//
// An error reply naming a store error ("ERR value_too_large: ...") comes
// back as that kv error, so the workload judges it like the CAF client's;
// anything else (a lost connection, a timeout, a reply it cannot read) is
// an error outside the kv category, after which the connection is dropped.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/request.hpp"

namespace kv::check {

class resp_client {
public:
  resp_client(std::string host, uint16_t port, std::string password,
              request_options options, std::chrono::milliseconds limit);
  ~resp_client();
  resp_client(const resp_client&) = delete;
  resp_client& operator=(const resp_client&) = delete;

  caf::expected<put_result> set(const std::string& key,
                                const std::string& value);
  caf::expected<put_result> put(const std::string& key,
                                const std::string& value,
                                const vector_clock& context);
  caf::expected<get_result> get(const std::string& key);
  caf::expected<put_result> remove(const std::string& key);

  // Connects (and authenticates, and sets N/R/W) unless connected: an
  // error means no request was sent.
  caf::error ensure_connected();

private:
  struct reply {
    char type = 0; // '+', '-', ':', '$', '*', or 0 for a null
    std::string text;
    std::vector<reply> items;
  };

  caf::expected<reply> call(const std::vector<std::string>& args);
  // A write whose reply carries no context (SET, DEL).
  caf::expected<put_result> write(const std::vector<std::string>& args);
  caf::error send_all(const std::string& bytes);
  caf::expected<reply> read_reply(int depth);
  caf::expected<std::string> read_line();
  caf::error fill(std::size_t bytes);
  caf::error drop(std::string why);

  std::string host_;
  uint16_t port_;
  std::string password_;
  request_options options_;
  std::chrono::milliseconds limit_;
  int fd_ = -1;
  std::string in_;
};

} // namespace kv::check
