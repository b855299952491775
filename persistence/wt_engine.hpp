#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "messages/engine_stats.hpp"

struct __wt_connection;
struct __wt_session;
struct __wt_cursor;

namespace kv {

// When a commit reaches the disk. Both modes log every commit
// (transaction_sync enabled): `fsync` with method=fsync, `write` with
// method=none. Disabling transaction_sync instead would leave commits in
// WiredTiger's in-process log buffer, and a kill -9 then loses acknowledged
// writes.
enum class durability_mode {
  fsync, // every commit is flushed to stable storage before it returns
  write, // every commit is written to the OS before it returns: survives a
         // process crash (kill -9), not a power loss
};

const char* to_string(durability_mode x);
std::optional<durability_mode> parse_durability(std::string_view text);

struct engine_options {
  std::string data_dir;                 // created if missing
  uint64_t cache_size_mb = 256;         // WiredTiger cache; data may exceed it
  durability_mode durability = durability_mode::write;
  std::string block_compressor = "snappy"; // "snappy", "zlib" or "none"

  // The journal is only truncated behind a checkpoint, and recovery after a
  // crash replays everything written since the last one: without periodic
  // checkpoints the log grows without bound and so does the restart time.
  // A checkpoint runs after `checkpoint_wait_s` seconds or after
  // `checkpoint_log_bytes` of log records, whichever comes first (0 turns
  // either trigger off; both 0 means checkpoints only at close).
  // WiredTiger raises checkpoint_log_bytes to at least log_file_max_bytes.
  uint32_t checkpoint_wait_s = 60;                  // at most 100000
  uint64_t checkpoint_log_bytes = uint64_t{64} << 20; // at most 2 GiB
  // Size of one log file: the unit in which log space is freed after a
  // checkpoint (100 KiB to 2 GiB).
  uint64_t log_file_max_bytes = uint64_t{16} << 20;
};

class wt_session;

// One WiredTiger connection (one per data directory and process). Sessions
// are opened per actor/thread; the connection itself is thread-safe.
//
// Lifetimes: closing the connection closes every session and cursor on it,
// and closing a session closes its cursors, so a wt_table must be destroyed
// before the wt_session it came from, and every wt_session before the
// wt_engine. Destroying them in the other order closes a handle twice.
class wt_engine {
public:
  // Throws storage_error with a one-line reason: directory not creatable or
  // writable, already locked by another process, bad settings.
  explicit wt_engine(const engine_options& opts);
  ~wt_engine(); // closes every session and cursor, checkpoints

  wt_engine(const wt_engine&) = delete;
  wt_engine& operator=(const wt_engine&) = delete;

  // Creates (if missing) a table of raw byte keys and values, compressed
  // with the engine's block compressor.
  void create_table(const std::string& name);

  // Whether a table of that name exists (created before, not dropped).
  bool has_table(const std::string& name);

  // Removes a table and its file. No cursor on it may be open.
  void drop_table(const std::string& name);

  wt_session open_session();

  const engine_options& options() const { return opts_; }

private:
  engine_options opts_;
  __wt_connection* conn_ = nullptr;
};

class wt_table;

// A WiredTiger session: not thread-safe, owned by one actor. Movable.
class wt_session {
public:
  explicit wt_session(__wt_session* session);
  ~wt_session();
  wt_session(wt_session&& other) noexcept;
  wt_session& operator=(wt_session&& other) noexcept;
  wt_session(const wt_session&) = delete;
  wt_session& operator=(const wt_session&) = delete;

  // Opens a cursor on a table; keep the wt_table and reuse it.
  wt_table open_table(const std::string& name);

  // The engine's figures now (the connection's "fast" statistics).
  engine_stats figures();

private:
  __wt_session* session_;
};

// A reusable cursor on one table. Each write is its own (auto-committed)
// transaction, durable according to the engine's durability_mode when the
// call returns. Methods throw storage_error on engine failures.
// Keys must not be empty (WiredTiger cannot store them).
class wt_table {
public:
  explicit wt_table(__wt_cursor* cursor);
  ~wt_table();
  wt_table(wt_table&& other) noexcept;
  wt_table& operator=(wt_table&& other) noexcept;
  wt_table(const wt_table&) = delete;
  wt_table& operator=(const wt_table&) = delete;

  // Copies the value of `key` into `out`; false if the key is absent.
  bool get(std::string_view key, std::string& out);

  void put(std::string_view key, std::string_view value);

  // False if the key was absent.
  bool erase(std::string_view key);

  // Visits keys >= `from` in order until `visit` returns false. The views
  // are valid only during the call, and `visit` must not use this wt_table
  // (that would move the cursor the scan stands on).
  void scan(std::string_view from,
            const std::function<bool(std::string_view key,
                                     std::string_view value)>& visit);

  // Number of records (a full scan: for tests and tools).
  uint64_t count();

private:
  __wt_cursor* cursor_;
};

// One table as an actor owns it: its own session and cursor, plus a share of
// the engine so the connection stays open while the actor lives. Members are
// destroyed in reverse order of declaration: the cursor closes before its
// session and the session before the engine reference goes.
struct owned_table {
  std::shared_ptr<wt_engine> engine;
  wt_session session;
  wt_table table;

  // Throws storage_error if the session or cursor cannot be opened.
  owned_table(std::shared_ptr<wt_engine> e, const std::string& name);
};

} // namespace kv
