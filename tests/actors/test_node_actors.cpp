// The replica store and coordinator actors of one node, on a real
// WiredTiger directory: sibling semantics, contexts, deletes, limits,
// restarts and corrupt records.
#define BOOST_TEST_MODULE node_actors
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <limits>
#include <set>
#include <string>

#include <caf/all.hpp>

#include "actors/key_hash.hpp"
#include "actors/log.hpp"
#include "actors/node.hpp"
#include "actors/storage/replica_store.hpp"
#include "apps/client/kv_client.hpp"
#include "persistence/wt_engine.hpp"
#include "tests/support/print_types.hpp"
#include "tests/support/temp_dir.hpp"

using namespace kv;


namespace {

struct temp_dir : kv::testing::temp_dir {
  temp_dir() : kv::testing::temp_dir("kv_node_actors") {}
};

template <class T>
std::string failure(const caf::expected<T>& res) {
  return res ? std::string{"none"} : describe(res.error());
}

struct fixture {
  temp_dir dir;
  client_config cfg;
  caf::actor_system sys{cfg};
  std::unique_ptr<node> running;
  std::unique_ptr<blocking_client> client;

  fixture() { start(); }

  node_config settings() {
    node_config nc;
    nc.node_id = "n1";
    nc.publish = false;
    nc.storage.data_dir = (dir.path / "n1").string();
    nc.storage.cache_size_mb = 16;
    nc.max_value_bytes = 4096;
    nc.max_siblings = 5;
    return nc;
  }

  void start() { start(settings()); }

  void start(const node_config& nc) {
    running = node::start(sys, nc);
    client = std::make_unique<blocking_client>(sys, running->coordinator());
  }

  void stop() {
    client.reset();
    running->stop();
    running.reset();
  }

  put_result put(const std::string& key, const std::string& value,
                 const vector_clock& ctx = {}) {
    auto res = client->put(key, value, ctx);
    BOOST_REQUIRE_MESSAGE(res, "put failed: " << failure(res));
    return *res;
  }

  get_result get(const std::string& key) {
    auto res = client->get(key);
    BOOST_REQUIRE_MESSAGE(res, "get failed: " << failure(res));
    return *res;
  }

  std::vector<std::string> values(const std::string& key) {
    std::vector<std::string> out;
    for (auto& v : get(key).siblings)
      out.push_back(v.value);
    std::sort(out.begin(), out.end());
    return out;
  }
};

using strings = std::vector<std::string>;

} // namespace

BOOST_FIXTURE_TEST_SUITE(node_actors, fixture)

BOOST_AUTO_TEST_CASE(missing_key_reads_empty) {
  auto res = get("nothing");
  BOOST_TEST(res.siblings.empty());
  BOOST_TEST(res.context.empty());
  BOOST_TEST(res.replies == 1u);
}

BOOST_AUTO_TEST_CASE(put_then_get_returns_the_value_and_its_clock) {
  auto written = put("k", "v1");
  BOOST_TEST(written.acks == 1u);
  BOOST_TEST(written.context.counter(running->identity().replica_id()) == 1u);
  auto res = get("k");
  BOOST_REQUIRE(res.siblings.size() == 1u);
  BOOST_TEST(res.siblings[0].value == "v1");
  BOOST_TEST(res.siblings[0].history() == written.context);
  BOOST_TEST(res.context == written.context);
}

BOOST_AUTO_TEST_CASE(blind_puts_become_siblings) {
  put("k", "a");
  put("k", "b");
  BOOST_TEST(values("k") == (strings{"a", "b"}));
}

BOOST_AUTO_TEST_CASE(put_with_context_supersedes_what_was_read) {
  put("k", "a");
  put("k", "b");
  auto read = get("k");
  BOOST_REQUIRE(read.siblings.size() == 2u);
  put("k", "resolved", read.context);
  BOOST_TEST(values("k") == (strings{"resolved"}));
}

BOOST_AUTO_TEST_CASE(write_after_a_read_keeps_a_concurrent_write) {
  put("k", "a");
  auto read = get("k");
  put("k", "concurrent"); // another client, blind
  put("k", "updated", read.context);
  BOOST_TEST(values("k") == (strings{"concurrent", "updated"}));
}

BOOST_AUTO_TEST_CASE(put_result_context_chains_updates) {
  auto first = put("k", "1");
  auto second = put("k", "2", first.context);
  put("k", "3", second.context);
  BOOST_TEST(values("k") == (strings{"3"}));
}

// Regression (issue 8.1): the reply's context was the new version's history;
// its dot n1:2 also covered Alice's concurrent n1:1, so Bob chaining his own
// put deleted a write he was never shown.
BOOST_AUTO_TEST_CASE(put_reply_context_covers_only_what_it_shows) {
  put("k", "alice");
  auto bob = put("k", "bob");
  strings shown;
  for (auto& v : bob.siblings)
    shown.push_back(v.value);
  std::sort(shown.begin(), shown.end());
  BOOST_TEST(shown == (strings{"alice", "bob"}));
  BOOST_TEST(bob.context == get("k").context);
  // A client that chains without looking has still been shown Alice's write;
  // one that resolves keeps it.
  put("k", "alice+bob2", bob.context);
  BOOST_TEST(values("k") == (strings{"alice+bob2"}));
}

BOOST_AUTO_TEST_CASE(chained_context_never_covers_an_unseen_write) {
  auto bob = put("k", "bob");
  BOOST_TEST(bob.siblings.size() == 1u);
  put("k", "alice"); // concurrent, after Bob's reply: Bob has not seen it
  put("k", "bob2", bob.context);
  BOOST_TEST(values("k") == (strings{"alice", "bob2"}));
}

BOOST_AUTO_TEST_CASE(delete_without_context_removes_the_key) {
  put("k", "a");
  put("k", "b");
  auto res = client->remove("k");
  BOOST_REQUIRE(res);
  auto read = get("k");
  BOOST_TEST(read.siblings.empty());
  // The tombstone's history is still returned, so a later put supersedes it.
  BOOST_TEST(!read.context.empty());
  put("k", "again", read.context);
  BOOST_TEST(values("k") == (strings{"again"}));
}

BOOST_AUTO_TEST_CASE(delete_with_stale_context_keeps_newer_writes) {
  put("k", "old");
  auto read = get("k");
  put("k", "newer", read.context);
  auto res = client->remove("k", read.context);
  BOOST_REQUIRE(res);
  BOOST_TEST(values("k") == (strings{"newer"}));
}

BOOST_AUTO_TEST_CASE(sibling_limit_refuses_the_write_and_keeps_the_data) {
  for (int i = 0; i < 5; ++i)
    put("k", "v" + std::to_string(i));
  auto res = client->put("k", "one too many");
  BOOST_REQUIRE(!res);
  BOOST_TEST(is_kv_error(res.error(), kv_errc::too_many_siblings));
  BOOST_TEST(describe(res.error()).find("context") != std::string::npos);
  BOOST_TEST(values("k").size() == 5u);
  // The way out: write back with the context.
  put("k", "merged", get("k").context);
  BOOST_TEST(values("k") == (strings{"merged"}));
}

BOOST_AUTO_TEST_CASE(oversized_and_empty_keys_and_values_are_refused) {
  auto big_key = client->put(std::string(max_key_bytes + 1, 'k'), "v");
  BOOST_REQUIRE(!big_key);
  BOOST_TEST(is_kv_error(big_key.error(), kv_errc::key_too_large));
  auto max_key = client->put(std::string(max_key_bytes, 'k'), "v");
  BOOST_TEST(static_cast<bool>(max_key));
  auto big_value = client->put("k", std::string(4097, 'v'));
  BOOST_REQUIRE(!big_value);
  BOOST_TEST(is_kv_error(big_value.error(), kv_errc::value_too_large));
  BOOST_TEST(describe(big_value.error()).find("4096") != std::string::npos);
  auto empty_key = client->put("", "v");
  BOOST_REQUIRE(!empty_key);
  BOOST_TEST(is_kv_error(empty_key.error(), kv_errc::invalid_argument));
  auto read_big = client->get(std::string(max_key_bytes + 1, 'k'));
  BOOST_REQUIRE(!read_big);
  BOOST_TEST(is_kv_error(read_big.error(), kv_errc::key_too_large));
  BOOST_TEST(values("k").empty());
}

// Regression (issue 8.10): no upper bound on a request's timeout (the
// coordinator kept its state for weeks), and the client's wait limit
// (timeout + 2000 ms) wrapped around in 32 bits.
BOOST_AUTO_TEST_CASE(a_timeout_above_the_maximum_is_refused) {
  request_options forever;
  forever.timeout_ms = std::numeric_limits<uint32_t>::max() - 1000;
  auto res = client->put("k", "v", {}, forever);
  BOOST_REQUIRE(!res);
  BOOST_TEST(is_kv_error(res.error(), kv_errc::invalid_argument),
             describe(res.error()));
  BOOST_TEST(values("k").empty());
}

BOOST_AUTO_TEST_CASE(quorum_beyond_the_cluster_is_refused) {
  request_options opts;
  opts.n = 2;
  auto res = client->put("k", "v", {}, opts);
  BOOST_REQUIRE(!res);
  BOOST_TEST(is_kv_error(res.error(), kv_errc::invalid_argument));
  opts.n = 1;
  opts.w = 2;
  res = client->put("k", "v", {}, opts);
  BOOST_REQUIRE(!res);
  BOOST_TEST(describe(res.error()).find("w=2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_coordinate_past_its_deadline_writes_nothing) {
  // A hung replica that wakes up after the coordinator gave up must not
  // make a second version of a write another replica already made.
  auto& store = running->stores()[0];
  caf::scoped_actor self{sys};
  self
    ->request(store, std::chrono::seconds{5}, coordinate_atom::value,
              std::string{"late"}, std::string{"v"}, false, false,
              vector_clock{}, uint64_t{1})
    .receive(
      [](versioned_value&, sibling_list&) {
        BOOST_FAIL("an expired write was applied");
      },
      [](caf::error& err) {
        BOOST_TEST(is_kv_error(err, kv_errc::unavailable));
        BOOST_TEST(describe(err).find("deadline") != std::string::npos);
      });
  self
    ->request(store, std::chrono::seconds{5}, read_atom::value,
              std::string{"late"})
    .receive([](sibling_list& xs) { BOOST_TEST(xs.empty()); },
             [](caf::error& err) { BOOST_FAIL(describe(err)); });
}

BOOST_AUTO_TEST_CASE(binary_keys_and_values_round_trip) {
  std::string key{"a\0b\xff", 4};
  std::string value{"\0\1\2\xfe", 4};
  put(key, value);
  auto read = get(key);
  BOOST_REQUIRE(read.siblings.size() == 1u);
  BOOST_TEST(read.siblings[0].value == value);
}

// Regression (issue 8.3): a node whose data directory was wiped issued dots
// again from 1; its new write and an old one still held by another replica
// then had the same dot, were taken as one write, and one of them vanished.
BOOST_AUTO_TEST_CASE(a_wiped_node_never_reuses_a_dot) {
  put("k", "before the wipe");
  auto held_elsewhere = get("k").siblings; // as another replica holds it
  stop();
  std::filesystem::remove_all(dir.path / "n1");
  start();
  put("k", "after the wipe");
  BOOST_REQUIRE(client->local_versions("k"));
  caf::scoped_actor self{sys};
  auto& stores = running->stores();
  for (auto& store : stores)
    self->request(store, std::chrono::seconds{5}, apply_atom::value,
                  std::string{"k"}, held_elsewhere)
      .receive([](ok_atom) {}, [](caf::error&) {});
  BOOST_TEST(values("k") == (strings{"after the wipe", "before the wipe"}));
}

// Regression (issue 8.4): an apply of a version with a counter near 2^64
// made every later dot of the key wrap to 0.
BOOST_AUTO_TEST_CASE(apply_refuses_versions_beyond_any_real_history) {
  versioned_value hostile;
  hostile.origin = dot{running->identity().replica_id(),
                       std::numeric_limits<uint64_t>::max()};
  hostile.value = "x";
  caf::scoped_actor self{sys};
  caf::error refused;
  for (auto& store : running->stores())
    self->request(store, std::chrono::seconds{5}, apply_atom::value,
                  std::string{"k"}, sibling_list{hostile})
      .receive([](ok_atom) {}, [&](caf::error& err) { refused = err; });
  BOOST_TEST(is_kv_error(refused, kv_errc::invalid_argument));
  put("k", "v");
  BOOST_TEST(values("k") == (strings{"v"}));
}

// Found in review: apply refused sets above the node's max_siblings, but a
// merge after a partition may hold more; read repair and hints of such a key
// were then refused forever.
BOOST_AUTO_TEST_CASE(apply_takes_a_merged_set_above_the_sibling_limit) {
  sibling_list many;
  for (uint64_t i = 1; i <= 7; ++i) {
    versioned_value v;
    v.origin = dot{"peer" + std::to_string(i) + "/1", 1};
    v.value = "v" + std::to_string(i);
    many.push_back(v);
  }
  caf::scoped_actor self{sys};
  caf::error failed;
  auto& stores = running->stores();
  for (auto& store : stores)
    self->request(store, std::chrono::seconds{5}, apply_atom::value,
                  std::string{"k"}, many)
      .receive([](ok_atom) {}, [&](caf::error& err) { failed = err; });
  BOOST_TEST(!failed, describe(failed));
  BOOST_TEST(values("k").size() == 7u);
}

BOOST_AUTO_TEST_CASE(restart_keeps_siblings_tombstones_and_counters) {
  put("a", "1");
  put("a", "2");
  put("gone", "x");
  BOOST_REQUIRE(client->remove("gone"));
  stop();
  start();
  BOOST_TEST(values("a") == (strings{"1", "2"}));
  BOOST_TEST(values("gone").empty());
  // Counters continue past the stored ones: a new blind write is a third
  // sibling, not a collision with an old dot.
  put("a", "3");
  BOOST_TEST(values("a") == (strings{"1", "2", "3"}));
}

// Regression (issue 8.7): a corrupt record used to fail every later write
// of its key too. Now its bytes are set aside in the quarantine table, reads
// keep saying the record was lost (an empty answer would count as a real
// one) until a write repairs it, and the write gets a dot above any the lost
// record could have issued.
BOOST_AUTO_TEST_CASE(corrupt_record_is_reported_set_aside_and_writable) {
  put("good", "fine");
  put("bad", "soon corrupt");
  put("worse", "soon corrupt");
  auto nc = settings();
  stop();
  auto floor = wall_clock_ms() << 16;
  const std::string garbage{"\x01garbage-bytes"};
  {
    wt_engine engine{nc.storage};
    auto session = engine.open_session();
    auto table = session.open_table(records_table("kv"));
    table.put(stored_key("bad"), garbage);
    table.put(stored_key("worse"), garbage);
  }
  start(nc);
  auto res = client->get("bad");
  BOOST_REQUIRE(!res);
  BOOST_TEST(is_kv_error(res.error(), kv_errc::corrupt_record));
  auto again = client->get("bad");
  BOOST_REQUIRE(!again);
  BOOST_TEST(is_kv_error(again.error(), kv_errc::corrupt_record));
  auto written = put("bad", "new");
  BOOST_TEST(values("bad") == (strings{"new"}));
  BOOST_REQUIRE(written.siblings.size() == 1u);
  BOOST_TEST(written.siblings[0].origin.counter >= floor);
  // A write straight onto a corrupt record (no read before) works too.
  put("worse", "new");
  BOOST_TEST(values("worse") == (strings{"new"}));
  BOOST_TEST(values("good") == (strings{"fine"}));
  stop();
  wt_engine engine{nc.storage};
  auto session = engine.open_session();
  auto quarantine = session.open_table("kv_quarantine");
  std::string kept;
  BOOST_REQUIRE(quarantine.get("bad", kept));
  BOOST_TEST(kept == garbage);
  BOOST_TEST(quarantine.get("worse", kept));
}

// Review of the corrupt-record fix: any apply cleared a lost record's mark,
// so one replica's versions (a hint, a write coordinated elsewhere, a failed
// read's merge) made the replica count again as if it held everything the
// others hold, and a quorum read could miss an acknowledged write. An apply
// now only adds to what the lost replica keeps; a restore (a merge of every
// other owner's copy) makes it count again.
BOOST_AUTO_TEST_CASE(only_a_restore_makes_a_lost_record_count_again) {
  put("k", "before");
  auto nc = settings();
  stop();
  {
    wt_engine engine{nc.storage};
    auto session = engine.open_session();
    auto table = session.open_table(records_table("kv"));
    table.put(stored_key("k"), std::string{"\x01garbage-bytes"});
  }
  start(nc);
  auto store = running->stores()[store_shard_of(
    "k", static_cast<uint32_t>(running->stores().size()))];
  caf::scoped_actor self{sys};
  auto read_error = [&] {
    caf::error result;
    self->request(store, std::chrono::seconds{5}, read_atom::value,
                  std::string{"k"})
      .receive([](sibling_list&) {}, [&](caf::error& err) { result = err; });
    return result;
  };
  auto send = [&](auto atom, sibling_list versions) {
    self->request(store, std::chrono::seconds{5}, atom, std::string{"k"},
                  std::move(versions))
      .receive([](ok_atom) {},
               [&](caf::error& err) { BOOST_FAIL(describe(err)); });
  };
  BOOST_TEST(is_kv_error(read_error(), kv_errc::corrupt_record));
  versioned_value from_elsewhere;
  from_elsewhere.origin = dot{"peer/1", 1};
  from_elsewhere.value = "one replica's";
  send(apply_atom::value, sibling_list{from_elsewhere});
  BOOST_TEST(is_kv_error(read_error(), kv_errc::corrupt_record));
  send(restore_atom::value, sibling_list{});
  BOOST_TEST(!read_error());
  BOOST_TEST(values("k") == (strings{"one replica's"}));
}

BOOST_AUTO_TEST_CASE(many_keys_across_store_shards) {
  for (int i = 0; i < 500; ++i)
    put("key" + std::to_string(i), "value" + std::to_string(i));
  for (int i = 0; i < 500; i += 7)
    BOOST_TEST(values("key" + std::to_string(i))
               == (strings{"value" + std::to_string(i)}));
}

// Issue 9 (partitions): records are laid out by ring position, and a
// directory written before that is converted when the node starts.
BOOST_AUTO_TEST_CASE(records_written_before_partitions_are_converted_at_start) {
  for (int i = 0; i < 50; ++i)
    put("k" + std::to_string(i), "v" + std::to_string(i));
  auto nc = settings();
  stop();
  {
    // Back to the old layout: table "kv", plain keys.
    wt_engine engine{nc.storage};
    engine.create_table("kv");
    {
      auto session = engine.open_session();
      auto old_layout = session.open_table("kv");
      auto current = session.open_table(records_table("kv"));
      current.scan({}, [&](std::string_view stored, std::string_view value) {
        old_layout.put(key_in(stored), value);
        return true;
      });
    }
    engine.drop_table(records_table("kv"));
  }
  start(nc);
  for (int i = 0; i < 50; ++i)
    BOOST_TEST(values("k" + std::to_string(i))
               == (strings{"v" + std::to_string(i)}));
  stop();
  wt_engine engine{nc.storage};
  BOOST_TEST(!engine.has_table("kv"));
  auto session = engine.open_session();
  BOOST_TEST(session.open_table(records_table("kv")).count() == 50u);
}

BOOST_AUTO_TEST_CASE(a_scan_returns_one_position_range_in_order_and_resumes) {
  std::set<std::string> lower_half;
  for (int i = 0; i < 300; ++i) {
    auto key = "key" + std::to_string(i);
    put(key, std::string(100, 'v'));
    if (stable_hash(key) < (uint64_t{1} << 63))
      lower_half.insert(key);
  }
  client->remove("key7"); // tombstones travel too
  auto store = running->stores()[0];
  caf::scoped_actor self{sys};
  std::vector<std::string> seen;
  std::string resume;
  std::size_t chunks = 0;
  uint64_t previous = 0;
  for (bool done = false; !done;) {
    self
      ->request(store, std::chrono::seconds{10}, scan_atom::value,
                uint64_t{0}, (uint64_t{1} << 63) - 1, resume, uint32_t{2000})
      .receive(
        [&](partition_chunk& chunk) {
          BOOST_REQUIRE_EQUAL(chunk.keys.size(), chunk.versions.size());
          for (std::size_t i = 0; i < chunk.keys.size(); ++i) {
            auto position = stable_hash(chunk.keys[i]);
            BOOST_TEST(position >= previous);
            previous = position;
            BOOST_TEST(!chunk.versions[i].empty());
            seen.push_back(chunk.keys[i]);
          }
          resume = chunk.resume_after;
          done = chunk.done;
          ++chunks;
        },
        [&](caf::error& err) {
          BOOST_FAIL("scan failed: " << describe(err));
        });
  }
  BOOST_TEST(chunks > 5u); // 2000 bytes hold about 15 records
  BOOST_TEST(seen.size() == lower_half.size());
  BOOST_TEST((std::set<std::string>(seen.begin(), seen.end()) == lower_half));
  // A malformed resume point is an error, not a crash.
  self
    ->request(store, std::chrono::seconds{10}, scan_atom::value, uint64_t{0},
              uint64_t{5}, std::string{"abc"}, uint32_t{100})
    .receive([&](partition_chunk&) { BOOST_FAIL("accepted a bad resume"); },
             [&](caf::error& err) {
               BOOST_TEST(is_kv_error(err, kv_errc::invalid_argument));
             });
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(bad_configuration_is_refused_with_a_reason) {
  node_config nc;
  nc.node_id = "bad id!";
  BOOST_TEST(config_problem(nc).has_value());
  nc.node_id = "n1";
  nc.storage.data_dir = "/tmp/x";
  nc.consistency.r = 5;
  nc.consistency.n = 3;
  auto problem = config_problem(nc);
  BOOST_REQUIRE(problem.has_value());
  BOOST_TEST(problem->find("r=5") != std::string::npos);
}
