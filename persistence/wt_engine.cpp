#include "persistence/wt_engine.hpp"

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

#include <wiredtiger.h>

#include "persistence/storage_error.hpp"

#ifndef KV_WT_EXTENSION_DIR
#  error "KV_WT_EXTENSION_DIR must name the WiredTiger compressors' directory"
#endif

namespace kv {

namespace {

namespace fs = std::filesystem;

// -- WiredTiger's error messages ----------------------------------------------

// While set, WiredTiger's error messages on this thread land here instead of
// on stderr, so a failed open reports them once, inside the storage_error.
thread_local std::string* captured_message = nullptr;

int on_wt_error(WT_EVENT_HANDLER*, WT_SESSION*, int, const char* message) {
  if (captured_message != nullptr)
    *captured_message = message;
  else
    std::fprintf(stderr, "wiredtiger: %s\n", message);
  return 0;
}

WT_EVENT_HANDLER event_handler = {on_wt_error, nullptr, nullptr, nullptr};

class capture_messages {
public:
  capture_messages() : previous_(captured_message) {
    captured_message = &text_;
  }
  ~capture_messages() { captured_message = previous_; }

  const std::string& text() const { return text_; }

private:
  std::string text_;
  std::string* previous_;
};

// -- errors -------------------------------------------------------------------

[[noreturn]] void fail(const std::string& what, int ret) {
  std::string text = what + ": " + wiredtiger_strerror(ret);
  if (ret == WT_PANIC)
    text += " (WiredTiger panicked: restart the node and let recovery run)";
  else if (ret == WT_CACHE_FULL)
    text += " (raise the cache size)";
  throw storage_error(text, ret);
}

void check(int ret, const std::string& what) {
  if (ret != 0)
    fail(what, ret);
}

// An auto-committed operation rolls back on a conflict with a concurrent
// transaction or under eviction pressure; nothing was applied, so it is safe
// to try again a few times before giving up.
constexpr int max_write_attempts = 5;

template <class Op>
int retry_on_rollback(Op op) {
  int ret = 0;
  for (int i = 0; i < max_write_attempts; ++i)
    if ((ret = op()) != WT_ROLLBACK)
      break;
  return ret;
}

// Cursor calls are the hot path: the message is only built on failure.
void check(int ret, WT_CURSOR* cursor, const char* op) {
  if (ret != 0)
    fail(std::string(op) + " on " + cursor->uri, ret);
}

WT_ITEM as_item(std::string_view bytes) {
  WT_ITEM item{};
  item.data = bytes.data();
  item.size = bytes.size();
  return item;
}

// WiredTiger refuses empty keys; say so instead of "Invalid argument".
WT_ITEM key_item(std::string_view key, WT_CURSOR* cursor, const char* op) {
  if (key.empty())
    throw storage_error(std::string(op) + " on " + cursor->uri
                          + ": empty keys cannot be stored",
                        EINVAL);
  return as_item(key);
}

std::string_view as_view(const WT_ITEM& item) {
  return {static_cast<const char*>(item.data), item.size};
}

// Leaves the cursor unpositioned whichever way a read ends, so it does not
// pin a page or a snapshot between calls.
class reset_on_exit {
public:
  explicit reset_on_exit(WT_CURSOR* cursor) : cursor_(cursor) {}
  ~reset_on_exit() { cursor_->reset(cursor_); }

private:
  WT_CURSOR* cursor_;
};

// -- opening ------------------------------------------------------------------

void prepare_data_dir(const std::string& dir) {
  if (dir.empty())
    throw storage_error("no data directory configured");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw storage_error("data directory " + dir
                          + " exists but is not a directory",
                        ENOTDIR);
  fs::create_directories(dir, ec);
  if (ec)
    throw storage_error("cannot create data directory " + dir + ": "
                          + ec.message(),
                        ec.value());
}

std::string open_config(const engine_options& opts) {
  std::string ext = KV_WT_EXTENSION_DIR;
  // statistics=(fast): the counters operators watch, cheap to keep.
  std::string cfg = "create,session_max=256,statistics=(fast)";
  cfg += ",cache_size=" + std::to_string(opts.cache_size_mb) + "M";
  // archive=true removes log files a checkpoint made unnecessary (the
  // default in 3.2, spelt out because the bound on disk use depends on it).
  cfg += ",log=(enabled=true,archive=true,file_max="
         + std::to_string(opts.log_file_max_bytes) + ")";
  cfg += ",checkpoint=(wait=" + std::to_string(opts.checkpoint_wait_s)
         + ",log_size=" + std::to_string(opts.checkpoint_log_bytes) + ")";
  // method=none: write(2) the log record before the commit returns but do
  // not flush it, which survives a process crash but not a power loss.
  cfg += opts.durability == durability_mode::fsync
           ? ",transaction_sync=(enabled=true,method=fsync)"
           : ",transaction_sync=(enabled=true,method=none)";
  // Both compressors are always loaded: recovery needs the one each existing
  // table was created with, whatever the current setting.
  cfg += ",extensions=[\"" + ext + "/libwiredtiger_snappy.so\",\"" + ext
         + "/libwiredtiger_zlib.so\"]";
  return cfg;
}

// WiredTiger prefixes its messages with a timestamp, the thread and the
// source location ("[1700:42][9:0x7f], wiredtiger_open: __conn_single, 1680:
// text"); only the text means anything to an operator.
std::string_view strip_location(std::string_view message) {
  for (auto pos = message.find(", "); pos != std::string_view::npos;
       pos = message.find(", ", pos + 2)) {
    auto rest = message.substr(pos + 2);
    auto digits = rest.find_first_not_of("0123456789");
    if (digits > 0 && digits != std::string_view::npos
        && rest.substr(digits, 2) == ": ")
      return rest.substr(digits + 2);
  }
  return message;
}

std::string open_failure(const std::string& dir, int ret,
                         std::string_view message) {
  std::string text = "cannot open data directory " + dir + ": ";
  if (ret == EBUSY) {
    // WiredTiger refuses a second connection to one home within a process
    // before it ever tries the lock file.
    if (message.find("this process") != std::string_view::npos)
      return text + "it is already open in this process";
    return text + "it is in use by another process (WiredTiger.lock is held)";
  }
  if (message.empty())
    return text + wiredtiger_strerror(ret);
  return text + std::string(strip_location(message));
}

// WiredTiger would refuse these too, but with a message naming its own
// configuration keys rather than ours.
void check_log_settings(const engine_options& opts) {
  constexpr uint64_t two_gib = uint64_t{2} << 30;
  if (opts.checkpoint_wait_s > 100000)
    throw storage_error("checkpoint interval must be at most 100000 s");
  if (opts.checkpoint_log_bytes > two_gib)
    throw storage_error("checkpoint log volume must be at most 2 GiB");
  if (opts.log_file_max_bytes < 100 * 1024 || opts.log_file_max_bytes > two_gib)
    throw storage_error("log file size must be between 100 KiB and 2 GiB");
}

WT_SESSION* open_raw_session(WT_CONNECTION* conn, const std::string& dir) {
  WT_SESSION* session = nullptr;
  check(conn->open_session(conn, nullptr, nullptr, &session),
        "cannot open a session on " + dir);
  return session;
}

} // namespace

// -- durability_mode ----------------------------------------------------------

const char* to_string(durability_mode x) {
  switch (x) {
    case durability_mode::fsync:
      return "fsync";
    case durability_mode::write:
      return "write";
  }
  return "?";
}

std::optional<durability_mode> parse_durability(std::string_view text) {
  if (text == "fsync")
    return durability_mode::fsync;
  if (text == "write")
    return durability_mode::write;
  return std::nullopt;
}

// -- wt_engine ----------------------------------------------------------------

wt_engine::wt_engine(const engine_options& opts) : opts_(opts) {
  const auto& c = opts_.block_compressor;
  if (c != "snappy" && c != "zlib" && c != "none")
    throw storage_error("unknown block compressor '" + c
                        + "' (expected snappy, zlib or none)");
  if (opts_.cache_size_mb == 0)
    throw storage_error("cache size must be at least 1 MB");
  check_log_settings(opts_);
  prepare_data_dir(opts_.data_dir);
  capture_messages messages;
  auto ret = wiredtiger_open(opts_.data_dir.c_str(), &event_handler,
                             open_config(opts_).c_str(), &conn_);
  if (ret != 0) {
    conn_ = nullptr;
    throw storage_error(open_failure(opts_.data_dir, ret, messages.text()),
                        ret);
  }
}

wt_engine::~wt_engine() {
  if (conn_ != nullptr)
    conn_->close(conn_, nullptr);
}

void wt_engine::create_table(const std::string& name) {
  std::string cfg = "key_format=u,value_format=u";
  if (opts_.block_compressor != "none")
    cfg += ",block_compressor=" + opts_.block_compressor;
  auto session = open_raw_session(conn_, opts_.data_dir);
  wt_session owner{session};
  check(session->create(session, ("table:" + name).c_str(), cfg.c_str()),
        "cannot create table " + name + " in " + opts_.data_dir);
}

bool wt_engine::has_table(const std::string& name) {
  auto session = open_raw_session(conn_, opts_.data_dir);
  wt_session owner{session};
  WT_CURSOR* cursor = nullptr;
  auto ret = session->open_cursor(session, ("table:" + name).c_str(), nullptr,
                                  nullptr, &cursor);
  if (ret == ENOENT)
    return false;
  check(ret, "cannot open table " + name);
  cursor->close(cursor);
  return true;
}

void wt_engine::drop_table(const std::string& name) {
  auto session = open_raw_session(conn_, opts_.data_dir);
  wt_session owner{session};
  check(session->drop(session, ("table:" + name).c_str(), nullptr),
        "cannot drop table " + name + " in " + opts_.data_dir);
}

wt_session wt_engine::open_session() {
  return wt_session{open_raw_session(conn_, opts_.data_dir)};
}

// -- wt_session ---------------------------------------------------------------

wt_session::wt_session(__wt_session* session) : session_(session) {
  // nop
}

wt_session::~wt_session() {
  if (session_ != nullptr)
    session_->close(session_, nullptr);
}

wt_session::wt_session(wt_session&& other) noexcept
  : session_(std::exchange(other.session_, nullptr)) {
  // nop
}

wt_session& wt_session::operator=(wt_session&& other) noexcept {
  if (this != &other) {
    if (session_ != nullptr)
      session_->close(session_, nullptr);
    session_ = std::exchange(other.session_, nullptr);
  }
  return *this;
}

wt_table wt_session::open_table(const std::string& name) {
  WT_CURSOR* cursor = nullptr;
  auto uri = "table:" + name;
  auto ret = session_->open_cursor(session_, uri.c_str(), nullptr, nullptr,
                                   &cursor);
  if (ret == ENOENT)
    throw storage_error("no table " + name + " (create_table first)", ret);
  check(ret, "cannot open table " + name);
  return wt_table{cursor};
}

engine_stats wt_session::figures() {
  WT_CURSOR* cursor = nullptr;
  check(session_->open_cursor(session_, "statistics:", nullptr, nullptr,
                              &cursor),
        "cannot open the statistics cursor");
  auto value_of = [cursor](int key) -> uint64_t {
    cursor->set_key(cursor, key);
    if (cursor->search(cursor) != 0)
      return 0;
    const char* description = nullptr;
    const char* printable = nullptr;
    int64_t value = 0;
    if (cursor->get_value(cursor, &description, &printable, &value) != 0)
      return 0;
    return value > 0 ? static_cast<uint64_t>(value) : 0;
  };
  engine_stats f;
  f.cache_bytes = value_of(WT_STAT_CONN_CACHE_BYTES_INUSE);
  f.cache_max_bytes = value_of(WT_STAT_CONN_CACHE_BYTES_MAX);
  f.cache_dirty_bytes = value_of(WT_STAT_CONN_CACHE_BYTES_DIRTY);
  f.pages_read = value_of(WT_STAT_CONN_CACHE_READ);
  f.pages_written = value_of(WT_STAT_CONN_CACHE_WRITE);
  f.bytes_read = value_of(WT_STAT_CONN_BLOCK_BYTE_READ);
  f.bytes_written = value_of(WT_STAT_CONN_BLOCK_BYTE_WRITE);
  f.checkpoints = value_of(WT_STAT_CONN_TXN_CHECKPOINT);
  cursor->close(cursor);
  return f;
}

// -- wt_table -----------------------------------------------------------------

wt_table::wt_table(__wt_cursor* cursor) : cursor_(cursor) {
  // nop
}

wt_table::~wt_table() {
  if (cursor_ != nullptr)
    cursor_->close(cursor_);
}

wt_table::wt_table(wt_table&& other) noexcept
  : cursor_(std::exchange(other.cursor_, nullptr)) {
  // nop
}

wt_table& wt_table::operator=(wt_table&& other) noexcept {
  if (this != &other) {
    if (cursor_ != nullptr)
      cursor_->close(cursor_);
    cursor_ = std::exchange(other.cursor_, nullptr);
  }
  return *this;
}

bool wt_table::get(std::string_view key, std::string& out) {
  auto k = key_item(key, cursor_, "get");
  reset_on_exit guard{cursor_};
  auto ret = retry_on_rollback([&] {
    cursor_->set_key(cursor_, &k);
    return cursor_->search(cursor_);
  });
  if (ret == WT_NOTFOUND)
    return false;
  check(ret, cursor_, "get");
  WT_ITEM value{};
  check(cursor_->get_value(cursor_, &value), cursor_, "get");
  out.assign(as_view(value));
  return true;
}

void wt_table::put(std::string_view key, std::string_view value) {
  auto k = key_item(key, cursor_, "put");
  auto v = as_item(value);
  auto ret = retry_on_rollback([&] {
    cursor_->set_key(cursor_, &k);
    cursor_->set_value(cursor_, &v);
    return cursor_->insert(cursor_);
  });
  check(ret, cursor_, "put");
}

bool wt_table::erase(std::string_view key) {
  // With overwrite (which put relies on) remove never reports WT_NOTFOUND;
  // turning it off for this call keeps erase one atomic operation.
  auto k = key_item(key, cursor_, "erase");
  check(cursor_->reconfigure(cursor_, "overwrite=false"), cursor_, "erase");
  auto ret = retry_on_rollback([&] {
    cursor_->set_key(cursor_, &k);
    return cursor_->remove(cursor_);
  });
  auto restored = cursor_->reconfigure(cursor_, "overwrite=true");
  cursor_->reset(cursor_);
  if (ret != WT_NOTFOUND)
    check(ret, cursor_, "erase");
  check(restored, cursor_, "erase");
  return ret == 0;
}

void wt_table::scan(std::string_view from,
                    const std::function<bool(std::string_view key,
                                             std::string_view value)>& visit) {
  reset_on_exit guard{cursor_};
  int ret = 0;
  if (from.empty()) {
    ret = cursor_->next(cursor_);
  } else {
    auto k = as_item(from);
    cursor_->set_key(cursor_, &k);
    int exact = 0;
    ret = cursor_->search_near(cursor_, &exact);
    if (ret == 0 && exact < 0)
      ret = cursor_->next(cursor_);
  }
  for (; ret == 0; ret = cursor_->next(cursor_)) {
    WT_ITEM key{};
    WT_ITEM value{};
    check(cursor_->get_key(cursor_, &key), cursor_, "scan");
    check(cursor_->get_value(cursor_, &value), cursor_, "scan");
    if (!visit(as_view(key), as_view(value)))
      return;
  }
  if (ret != WT_NOTFOUND)
    check(ret, cursor_, "scan");
}

uint64_t wt_table::count() {
  reset_on_exit guard{cursor_};
  uint64_t result = 0;
  int ret = 0;
  while ((ret = cursor_->next(cursor_)) == 0)
    ++result;
  if (ret != WT_NOTFOUND)
    check(ret, cursor_, "count");
  return result;
}

owned_table::owned_table(std::shared_ptr<wt_engine> e, const std::string& name)
  : engine(std::move(e)),
    session(engine->open_session()),
    table(session.open_table(name)) {
  // nop
}

} // namespace kv
