#define BOOST_TEST_MODULE wt_engine
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "persistence/storage_error.hpp"
#include "persistence/wt_engine.hpp"

using namespace kv;

namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.
struct temp_dir {
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "kv_wt_XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }

  fs::path path;
};

struct fixture : temp_dir {
  engine_options options(std::string compressor = "snappy",
                         durability_mode mode = durability_mode::write) {
    engine_options opts;
    opts.data_dir = (path / "data").string();
    opts.cache_size_mb = 8;
    opts.durability = mode;
    opts.block_compressor = std::move(compressor);
    return opts;
  }
};

std::string key_of(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string result(n, '\0');
  for (auto& c : result)
    c = static_cast<char>(rng());
  return result;
}

std::vector<std::string> scan_keys(wt_table& table, std::string_view from,
                                   std::size_t limit = SIZE_MAX) {
  std::vector<std::string> keys;
  table.scan(from, [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return keys.size() < limit;
  });
  return keys;
}

std::string error_of(const engine_options& opts) {
  try {
    wt_engine engine{opts};
  } catch (const storage_error& e) {
    return e.what();
  }
  return "no error";
}

// Writes, reads back, scans, erases, then reopens the directory and checks
// what is left: the same round for every compressor and durability mode.
void exercise(const engine_options& opts) {
  std::map<std::string, std::string> expected;
  {
    wt_engine engine{opts};
    engine.create_table("data");
    auto session = engine.open_session();
    auto table = session.open_table("data");
    for (int i = 0; i < 200; ++i) {
      auto value = std::string(i * 10, static_cast<char>('a' + i % 26));
      table.put(key_of(i), value);
      expected[key_of(i)] = value;
    }
    for (int i = 0; i < 200; i += 3) {
      BOOST_TEST(table.erase(key_of(i)));
      expected.erase(key_of(i));
    }
    BOOST_TEST(table.count() == expected.size());
  }
  wt_engine engine{opts};
  engine.create_table("data");
  auto session = engine.open_session();
  auto table = session.open_table("data");
  BOOST_TEST(table.count() == expected.size());
  std::string value;
  for (int i = 0; i < 200; ++i) {
    auto it = expected.find(key_of(i));
    BOOST_TEST(table.get(key_of(i), value) == (it != expected.end()));
    if (it != expected.end())
      BOOST_TEST(value == it->second);
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(durability_names)

BOOST_AUTO_TEST_CASE(parse_and_print) {
  for (auto mode : {durability_mode::fsync, durability_mode::write})
    BOOST_TEST((parse_durability(to_string(mode)) == mode));
  BOOST_TEST(!parse_durability("sometimes"));
  BOOST_TEST(!parse_durability(""));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(operations, fixture)

BOOST_AUTO_TEST_CASE(put_get_erase) {
  wt_engine engine{options()};
  engine.create_table("data");
  auto session = engine.open_session();
  auto table = session.open_table("data");
  std::string value = "untouched";
  BOOST_TEST(!table.get("k", value));
  BOOST_TEST(value == "untouched");
  table.put("k", "v1");
  BOOST_TEST(table.get("k", value));
  BOOST_TEST(value == "v1");
  table.put("k", "v2"); // overwrites
  BOOST_TEST(table.get("k", value));
  BOOST_TEST(value == "v2");
  BOOST_TEST(table.erase("k"));
  BOOST_TEST(!table.erase("k"));
  BOOST_TEST(!table.get("k", value));
  table.put("k", "v3"); // put still overwrites after an erase
  table.put("k", "v4");
  BOOST_TEST(table.get("k", value));
  BOOST_TEST(value == "v4");
}

BOOST_AUTO_TEST_CASE(binary_keys_and_values) {
  wt_engine engine{options()};
  engine.create_table("data");
  auto session = engine.open_session();
  auto table = session.open_table("data");
  std::string key("\0k\0", 3);
  std::string stored("\0\xff\0v", 4);
  table.put(key, stored);
  table.put("k", "other");
  std::string value;
  BOOST_TEST(table.get(key, value));
  BOOST_TEST(value == stored);
  table.put("empty", "");
  BOOST_TEST(table.get("empty", value));
  BOOST_TEST(value.empty());
  BOOST_CHECK_THROW(table.put("", "v"), storage_error);
  BOOST_CHECK_THROW(table.get("", value), storage_error);
  BOOST_CHECK_THROW(table.erase(""), storage_error);
  BOOST_TEST(table.get(key, value)); // the cursor still works
}

BOOST_AUTO_TEST_CASE(scan_and_count) {
  wt_engine engine{options()};
  engine.create_table("data");
  auto session = engine.open_session();
  auto table = session.open_table("data");
  BOOST_TEST(table.count() == 0u);
  BOOST_TEST(scan_keys(table, "").empty());
  for (int i = 0; i < 100; i += 2)
    table.put(key_of(i), "v" + std::to_string(i));
  BOOST_TEST(table.count() == 50u);
  auto all = scan_keys(table, "");
  BOOST_REQUIRE_EQUAL(all.size(), 50u);
  BOOST_TEST(all.front() == key_of(0));
  BOOST_TEST(all.back() == key_of(98));
  // From an absent key: starts at the next one.
  auto from_odd = scan_keys(table, key_of(31), 3);
  BOOST_TEST((from_odd
              == std::vector<std::string>{key_of(32), key_of(34), key_of(36)}));
  // From a present key: includes it.
  BOOST_TEST(scan_keys(table, key_of(40), 1).front() == key_of(40));
  // Past the end, and before the start.
  BOOST_TEST(scan_keys(table, "zzz").empty());
  BOOST_TEST(scan_keys(table, "a").size() == 50u);
  // Values come with their keys.
  table.scan(key_of(10), [](std::string_view key, std::string_view value) {
    BOOST_TEST(key == key_of(10));
    BOOST_TEST(value == "v10");
    return false;
  });
  // The cursor is usable again after a scan stopped half way.
  std::string value;
  BOOST_TEST(table.get(key_of(2), value));
  BOOST_TEST(table.count() == 50u);
}

BOOST_AUTO_TEST_CASE(tables_are_separate) {
  wt_engine engine{options()};
  engine.create_table("a");
  engine.create_table("b");
  engine.create_table("a"); // again: a no-op
  auto session = engine.open_session();
  auto a = session.open_table("a");
  auto b = session.open_table("b");
  a.put("k", "in a");
  std::string value;
  BOOST_TEST(!b.get("k", value));
  BOOST_TEST(a.count() == 1u);
  BOOST_TEST(b.count() == 0u);
}

BOOST_AUTO_TEST_CASE(moved_handles_stay_usable) {
  wt_engine engine{options()};
  engine.create_table("data");
  auto first = engine.open_session();
  auto session = std::move(first);
  auto table = session.open_table("data");
  wt_table moved{std::move(table)};
  moved.put("k", "v");
  auto other_session = engine.open_session();
  auto other = other_session.open_table("data");
  other = std::move(moved); // closes other's cursor first
  std::string value;
  BOOST_TEST(other.get("k", value));
}

BOOST_AUTO_TEST_CASE(session_move_assignment_closes_the_old_session) {
  wt_engine engine{options()};
  engine.create_table("data");
  auto session = engine.open_session();
  session = engine.open_session();
  auto table = session.open_table("data");
  table.put("k", "v");
  BOOST_TEST(table.count() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(persistence, fixture)

BOOST_AUTO_TEST_CASE(restart_keeps_data_with_each_compressor_and_mode) {
  for (auto compressor : {"snappy", "zlib", "none"})
    for (auto mode : {durability_mode::write, durability_mode::fsync}) {
      BOOST_TEST_CONTEXT(compressor << " " << to_string(mode)) {
        fs::remove_all(path / "data");
        exercise(options(compressor, mode));
      }
    }
}

BOOST_AUTO_TEST_CASE(durability_mode_can_change_between_runs) {
  {
    wt_engine engine{options("snappy", durability_mode::fsync)};
    engine.create_table("data");
    auto session = engine.open_session();
    session.open_table("data").put("k", "v");
  }
  wt_engine engine{options("snappy", durability_mode::write)};
  auto session = engine.open_session();
  auto table = session.open_table("data");
  std::string value;
  BOOST_TEST(table.get("k", value));
  BOOST_TEST((engine.options().durability == durability_mode::write));
}

BOOST_AUTO_TEST_CASE(data_larger_than_the_cache) {
  // 40 MB of incompressible values through a 1 MB cache.
  auto opts = options();
  opts.cache_size_mb = 1;
  constexpr int records = 10000;
  constexpr std::size_t value_size = 4000;
  std::mt19937_64 rng{1};
  std::vector<uint64_t> seeds(records);
  for (auto& seed : seeds)
    seed = rng();
  auto value_of = [&](int i) {
    std::mt19937_64 gen{seeds[i]};
    return random_bytes(gen, value_size);
  };
  wt_engine engine{opts};
  engine.create_table("data");
  auto session = engine.open_session();
  auto table = session.open_table("data");
  for (int i = 0; i < records; ++i)
    table.put(key_of(i), value_of(i));
  BOOST_TEST(table.count() == static_cast<uint64_t>(records));
  std::string value;
  int wrong = 0;
  for (int i = records - 1; i >= 0; --i)
    if (!table.get(key_of(i), value) || value != value_of(i))
      ++wrong;
  BOOST_TEST(wrong == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(errors, fixture)

BOOST_AUTO_TEST_CASE(creates_a_missing_data_dir) {
  auto opts = options();
  opts.data_dir = (path / "a" / "b" / "c").string();
  wt_engine engine{opts};
  BOOST_TEST(fs::is_directory(opts.data_dir));
}

BOOST_AUTO_TEST_CASE(data_dir_that_is_a_file) {
  auto opts = options();
  std::ofstream{opts.data_dir} << "not a directory";
  auto message = error_of(opts);
  BOOST_TEST(message.find(opts.data_dir) != std::string::npos, message);
  BOOST_TEST(message.find("not a directory") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(data_dir_under_a_file) {
  auto opts = options();
  std::ofstream{(path / "file").string()} << "x";
  opts.data_dir = (path / "file" / "data").string();
  auto message = error_of(opts);
  BOOST_TEST(message.find(opts.data_dir) != std::string::npos, message);
  BOOST_TEST(message.find("cannot create") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(second_engine_on_the_same_dir) {
  wt_engine first{options()};
  auto message = error_of(options());
  BOOST_TEST(message.find(options().data_dir) != std::string::npos, message);
  BOOST_TEST(message.find("already open") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(another_process_holds_the_lock) {
  auto opts = options();
  int ready[2];
  int release[2];
  BOOST_REQUIRE(pipe(ready) == 0 && pipe(release) == 0);
  auto child = fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    // Forked before this process opened anything, so WiredTiger starts clean.
    close(ready[0]);
    close(release[1]);
    int status = 1;
    try {
      wt_engine holder{opts};
      char c = 'r';
      if (write(ready[1], &c, 1) == 1 && read(release[0], &c, 1) >= 0)
        status = 0;
    } catch (...) {
      // status stays 1
    }
    _exit(status);
  }
  close(ready[1]);
  close(release[0]);
  char c = 0;
  BOOST_REQUIRE(read(ready[0], &c, 1) == 1);
  auto message = error_of(opts);
  close(release[1]); // lets the child close its engine and exit
  int status = -1;
  waitpid(child, &status, 0);
  close(ready[0]);
  BOOST_TEST(message.find(opts.data_dir) != std::string::npos, message);
  BOOST_TEST(message.find("in use by another process") != std::string::npos,
             message);
  BOOST_TEST(message.find("WiredTiger.lock") != std::string::npos, message);
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  // Once the holder is gone the directory opens again.
  wt_engine engine{opts};
}

BOOST_AUTO_TEST_CASE(bad_settings) {
  auto opts = options("lz77");
  BOOST_TEST(error_of(opts).find("lz77") != std::string::npos);
  opts = options();
  opts.cache_size_mb = 0;
  BOOST_TEST(error_of(opts).find("cache size") != std::string::npos);
  opts = options();
  opts.data_dir.clear();
  BOOST_TEST(error_of(opts).find("no data directory") != std::string::npos);
  opts = options();
  opts.cache_size_mb = 20'000'000; // above WiredTiger's 10 TB limit
  auto message = error_of(opts);
  BOOST_TEST(message.find("cannot open data directory") != std::string::npos,
             message);
  BOOST_TEST(message.find("__") == std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(missing_table) {
  wt_engine engine{options()};
  auto session = engine.open_session();
  try {
    session.open_table("nope");
    BOOST_FAIL("no error");
  } catch (const storage_error& e) {
    BOOST_TEST(std::string(e.what()).find("nope") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// The journal is truncated only behind checkpoints; these check that a node
// that stays up keeps its log (and with it the replay after a crash) bounded.
namespace {

constexpr int journal_keys = 1000;

// Small log files and a small checkpoint trigger, so a few MB of writes
// cross many checkpoints.
engine_options small_journal(engine_options opts) {
  opts.log_file_max_bytes = 100 * 1024; // WiredTiger's minimum
  opts.checkpoint_log_bytes = 256 * 1024;
  opts.checkpoint_wait_s = 0;
  return opts;
}

uint64_t journal_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto& entry : fs::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    // Only live logs: WiredTigerPreplog.* are preallocated, empty spares.
    if (name.rfind("WiredTigerLog.", 0) == 0)
      total += entry.file_size(ec);
  }
  return total;
}

// Checkpoints and log archiving run on WiredTiger's own threads: wait a
// bounded time for the journal to shrink under `bound`, then report its size.
uint64_t await_journal_below(const std::string& dir, uint64_t bound,
                             std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  auto bytes = journal_bytes(dir);
  while (bytes > bound && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    bytes = journal_bytes(dir);
  }
  return bytes;
}

std::string round_value(int round, int key) {
  return std::to_string(round) + ":" + std::string(1000, 'a' + key % 26);
}

// Overwrites every key `rounds` times (about 1 KB per write).
void overwrite_rounds(wt_table& table, int rounds) {
  for (int round = 0; round < rounds; ++round)
    for (int i = 0; i < journal_keys; ++i)
      table.put(key_of(i), round_value(round, i));
}

void check_last_round(const engine_options& opts, int last_round) {
  wt_engine engine{opts};
  auto session = engine.open_session();
  auto table = session.open_table("data");
  BOOST_TEST(table.count() == static_cast<uint64_t>(journal_keys));
  std::string value;
  int wrong = 0;
  for (int i = 0; i < journal_keys; ++i)
    if (!table.get(key_of(i), value) || value != round_value(last_round, i))
      ++wrong;
  BOOST_TEST(wrong == 0);
}

// Far above what a few 100 KB log files behind a checkpoint take, far below
// the ~30 MB that 30 rounds write.
constexpr uint64_t journal_bound = 4 << 20;

} // namespace

BOOST_FIXTURE_TEST_SUITE(journal, fixture)

BOOST_AUTO_TEST_CASE(log_volume_triggers_checkpoints_and_archiving) {
  auto opts = small_journal(options());
  constexpr int rounds = 30;
  {
    wt_engine engine{opts};
    engine.create_table("data");
    auto session = engine.open_session();
    auto table = session.open_table("data");
    overwrite_rounds(table, rounds);
    auto bytes = await_journal_below(opts.data_dir, journal_bound,
                                     std::chrono::seconds(30));
    BOOST_TEST(bytes <= journal_bound);
  }
  check_last_round(opts, rounds - 1);
}

BOOST_AUTO_TEST_CASE(elapsed_time_triggers_checkpoints_and_archiving) {
  auto opts = small_journal(options());
  opts.checkpoint_log_bytes = 0;
  opts.checkpoint_wait_s = 1;
  constexpr int rounds = 10;
  {
    wt_engine engine{opts};
    engine.create_table("data");
    auto session = engine.open_session();
    auto table = session.open_table("data");
    overwrite_rounds(table, rounds);
    // No more writes: only the timer can bring the journal down.
    auto bytes = await_journal_below(opts.data_dir, 1 << 20,
                                     std::chrono::seconds(30));
    BOOST_TEST(bytes <= uint64_t{1 << 20});
  }
  check_last_round(opts, rounds - 1);
}

BOOST_AUTO_TEST_CASE(crash_leaves_a_short_journal_and_loses_nothing) {
  auto opts = small_journal(options());
  constexpr int rounds = 30;
  auto child = fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    // Forked before this process opened anything. Dies like kill -9: no
    // close, no final checkpoint.
    try {
      wt_engine engine{opts};
      engine.create_table("data");
      auto session = engine.open_session();
      auto table = session.open_table("data");
      overwrite_rounds(table, rounds);
      // As long as the other journal tests allow: a loaded CI machine
      // checkpoints later, and killing before that tests nothing.
      await_journal_below(opts.data_dir, journal_bound,
                          std::chrono::seconds(30));
      raise(SIGKILL); // with the engine still open
    } catch (...) {
      // falls through to a clean exit, which the parent reports
    }
    _exit(1);
  }
  int status = -1;
  waitpid(child, &status, 0);
  BOOST_REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
  // What recovery has to replay.
  BOOST_TEST(journal_bytes(opts.data_dir) <= journal_bound);
  check_last_round(opts, rounds - 1);
}

BOOST_AUTO_TEST_CASE(bad_journal_settings) {
  auto opts = options();
  opts.log_file_max_bytes = 1024;
  BOOST_TEST(error_of(opts).find("log file size") != std::string::npos);
  opts = options();
  opts.checkpoint_wait_s = 100001;
  BOOST_TEST(error_of(opts).find("checkpoint interval") != std::string::npos);
  opts = options();
  opts.checkpoint_log_bytes = uint64_t{3} << 30;
  BOOST_TEST(error_of(opts).find("checkpoint log volume") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
