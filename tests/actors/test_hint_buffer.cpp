// The hint buffer actor on its own, on real WiredTiger directories: hints
// persist across restarts, merge per (owner, key), respect their bounds,
// reach the owner's replica stores when it is seen up (and only then), wait
// out dead stores with backoff, and expire.
#define BOOST_TEST_MODULE hint_buffer
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include <caf/all.hpp>

#include "actors/storage/hint_buffer.hpp"
#include "actors/key_hash.hpp"
#include "actors/storage/replica_store.hpp"
#include "apps/client/kv_client.hpp"
#include "persistence/wt_engine.hpp"
#include "tests/support/temp_dir.hpp"

using namespace kv;
using namespace std::chrono_literals;

namespace {

// The settings of the owner's replica store in these tests.
replica_store_settings owner_store_settings(std::size_t max_value_bytes) {
  replica_store_settings settings;
  settings.node_id = "o1";
  settings.table = "kv";
  settings.max_value_bytes = max_value_bytes;
  settings.max_siblings = 100;
  settings.max_clock_entries = 10;
  return settings;
}

using clock_type = std::chrono::steady_clock;
using counts = std::map<std::string, uint64_t>;

struct temp_dir : kv::testing::temp_dir {
  temp_dir() : kv::testing::temp_dir("kv_hint_buffer") {}
};

uint64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

versioned_value version(const std::string& node, uint64_t counter,
                        const std::string& value, vector_clock context = {}) {
  versioned_value v;
  v.origin = dot{node, counter};
  v.context = std::move(context);
  v.timestamp_ms = now_ms();
  v.value = value;
  return v;
}

std::vector<std::string> values_of(const sibling_list& xs) {
  std::vector<std::string> out;
  for (auto& x : xs)
    out.push_back(x.value);
  std::sort(out.begin(), out.end());
  return out;
}

// Polls `pred` until it holds or `limit` passes.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = 5s) {
  auto deadline = clock_type::now() + limit;
  for (;;) {
    if (pred())
      return true;
    if (clock_type::now() >= deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
}

// Polls `pred` for `window`: true if it held every time.
bool throughout(const std::function<bool()>& pred,
                std::chrono::milliseconds window) {
  auto deadline = clock_type::now() + window;
  do {
    if (!pred())
      return false;
    std::this_thread::sleep_for(5ms);
  } while (clock_type::now() < deadline);
  return pred();
}

engine_options storage(const std::filesystem::path& dir) {
  engine_options opts;
  opts.data_dir = dir.string();
  opts.cache_size_mb = 16;
  return opts;
}

// Settings that make the buffer act within a test's time.
hint_buffer_settings fast_settings() {
  hint_buffer_settings s;
  s.tick = 20ms;
  s.retry_min = 20ms;
  s.retry_max = 80ms;
  s.delivery_timeout = 2s;
  return s;
}

struct fixture {
  temp_dir dir;
  client_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::vector<caf::actor> running;
  std::shared_ptr<wt_engine> store_engine;

  ~fixture() {
    for (auto& x : running)
      stop(x);
  }

  std::filesystem::path hints_dir() const { return dir.path / "hints"; }

  hint_buffer_actor open_buffer(hint_buffer_settings s = fast_settings()) {
    auto engine = std::make_shared<wt_engine>(storage(hints_dir()));
    auto result = spawn_hint_buffer(sys, std::move(engine), std::move(s));
    running.push_back(caf::actor_cast<caf::actor>(result));
    return result;
  }

  replica_store_actor open_store() {
    if (!store_engine) {
      store_engine = std::make_shared<wt_engine>(storage(dir.path / "store"));
      store_engine->create_table("kv");
    }
    auto result = spawn_replica_store(sys, store_engine,
                                      owner_store_settings(4096));
    running.push_back(caf::actor_cast<caf::actor>(result));
    return result;
  }

  // Stops an actor and waits until it is gone (its WiredTiger handles
  // closed).
  template <class Handle>
  void stop(const Handle& hdl) {
    auto x = caf::actor_cast<caf::actor>(hdl);
    if (!x)
      return;
    self->monitor(x);
    self->send_exit(x, caf::exit_reason::user_shutdown);
    bool down = false;
    while (!down) {
      bool timed_out = false;
      self->receive(
        [&](const caf::down_msg& msg) {
          if (msg.source == caf::actor_cast<caf::actor_addr>(x))
            down = true;
        },
        caf::after(std::chrono::seconds(5)) >> [&] { timed_out = true; });
      BOOST_REQUIRE_MESSAGE(!timed_out, "an actor did not stop in time");
    }
  }

  caf::error add(const hint_buffer_actor& hb, const std::string& owner,
                 const std::string& key, sibling_list versions,
                 uint64_t created = 0) {
    caf::error result;
    hint h{owner, key, std::move(versions), created == 0 ? now_ms() : created};
    self->request(hb, 5s, hint_atom::value, h)
      .receive([](ok_atom) {},
               [&](caf::error& err) {
                 result = std::move(err);
                 if (!result)
                   result = caf::sec::unexpected_response;
               });
    return result;
  }

  void must_add(const hint_buffer_actor& hb, const std::string& owner,
                const std::string& key, sibling_list versions,
                uint64_t created = 0) {
    auto err = add(hb, owner, key, std::move(versions), created);
    BOOST_REQUIRE_MESSAGE(!err, "hint refused: " << describe(err));
  }

  counts pending(const hint_buffer_actor& hb) {
    counts result;
    self->request(hb, 5s, get_atom::value, hint_atom::value)
      .receive(
        [&](std::vector<std::string>& owners, std::vector<uint64_t>& ns) {
          BOOST_REQUIRE(owners.size() == ns.size());
          BOOST_REQUIRE(std::is_sorted(owners.begin(), owners.end()));
          for (size_t i = 0; i < owners.size(); ++i)
            result[owners[i]] = ns[i];
        },
        [&](caf::error& err) {
          BOOST_FAIL("get hints failed: " << describe(err));
        });
    return result;
  }

  sibling_list held(const hint_buffer_actor& hb, const std::string& owner,
                    const std::string& key) {
    sibling_list result;
    self->request(hb, 5s, read_atom::value, owner, key)
      .receive([&](sibling_list& xs) { result = std::move(xs); },
               [&](caf::error& err) {
                 BOOST_FAIL("read hint failed: " << describe(err));
               });
    return result;
  }

  sibling_list stored(const replica_store_actor& store, const std::string& key) {
    sibling_list result;
    self->request(store, 5s, read_atom::value, key)
      .receive([&](sibling_list& xs) { result = std::move(xs); },
               [&](caf::error& err) {
                 BOOST_FAIL("store read failed: " << describe(err));
               });
    return result;
  }

  void tell_members(const hint_buffer_actor& hb, const std::string& owner,
                    member_status status,
                    std::vector<replica_store_actor> stores) {
    node_card card;
    card.info.node_id = owner;
    card.info.status = status;
    card.stores = std::move(stores);
    self->send(hb, members_atom::value, std::vector<node_card>{card});
  }

  // Records in the hints table (of a stopped buffer) whose key starts with
  // `prefix`.
  uint64_t records_on_disk(const std::string& prefix = {}) {
    wt_engine engine{storage(hints_dir())};
    auto session = engine.open_session();
    auto table = session.open_table("hints");
    uint64_t n = 0;
    table.scan(prefix, [&](std::string_view k, std::string_view) {
      if (k.substr(0, prefix.size()) != prefix)
        return false;
      ++n;
      return true;
    });
    return n;
  }
};

using strings = std::vector<std::string>;

} // namespace

BOOST_FIXTURE_TEST_SUITE(hint_buffer, fixture)

BOOST_AUTO_TEST_CASE(hints_survive_a_restart) {
  auto hb = open_buffer();
  must_add(hb, "o1", "k1", {version("n1", 1, "a")});
  must_add(hb, "o1", "k2", {version("n1", 2, "b")});
  must_add(hb, "o2", "k1", {version("n2", 1, "c")});
  // Binary keys: the owner ends at the first NUL, the key may hold more.
  must_add(hb, "o2", std::string{"x\0y", 3}, {version("n2", 2, "d")});
  auto before = pending(hb);
  BOOST_TEST((before == counts{{"o1", 2}, {"o2", 2}}));
  stop(hb);
  auto reopened = open_buffer();
  BOOST_TEST((pending(reopened) == before));
  BOOST_TEST(values_of(held(reopened, "o1", "k1")) == strings{"a"});
  BOOST_TEST(values_of(held(reopened, "o1", "k2")) == strings{"b"});
  BOOST_TEST(values_of(held(reopened, "o2", "k1")) == strings{"c"});
  BOOST_TEST(values_of(held(reopened, "o2", std::string{"x\0y", 3}))
             == strings{"d"});
  BOOST_TEST(held(reopened, "o1", "k3").empty());
  BOOST_TEST(held(reopened, "o3", "k1").empty());
  auto v = held(reopened, "o1", "k1");
  BOOST_REQUIRE(v.size() == 1u);
  BOOST_TEST(v[0].origin.node == "n1");
  BOOST_TEST(v[0].origin.counter == 1u);
}

BOOST_AUTO_TEST_CASE(a_second_hint_for_a_key_merges_its_versions) {
  auto hb = open_buffer();
  auto first = version("n1", 1, "a");
  must_add(hb, "o1", "k", {first});
  // Concurrent with the first: both stay, as siblings.
  must_add(hb, "o1", "k", {version("n2", 1, "b")});
  BOOST_TEST(values_of(held(hb, "o1", "k")) == (strings{"a", "b"}));
  // A version that saw n1:1 supersedes it.
  must_add(hb, "o1", "k",
           {version("n1", 2, "a2", vector_clock{{{"n1", 1, 0}}})});
  BOOST_TEST(values_of(held(hb, "o1", "k")) == (strings{"a2", "b"}));
  // The same hint again changes nothing.
  must_add(hb, "o1", "k", {version("n2", 1, "b")});
  BOOST_TEST(values_of(held(hb, "o1", "k")) == (strings{"a2", "b"}));
  // One record per (owner, key); another owner's hint is apart.
  must_add(hb, "o2", "k", {version("n3", 1, "c")});
  BOOST_TEST((pending(hb) == counts{{"o1", 1}, {"o2", 1}}));
  BOOST_TEST(values_of(held(hb, "o2", "k")) == strings{"c"});
}

BOOST_AUTO_TEST_CASE(malformed_hints_are_refused) {
  auto hb = open_buffer();
  auto err = add(hb, "", "k", {version("n1", 1, "a")});
  BOOST_TEST(is_kv_error(err, kv_errc::invalid_argument));
  err = add(hb, std::string{"o\0x", 3}, "k", {version("n1", 1, "a")});
  BOOST_TEST(is_kv_error(err, kv_errc::invalid_argument));
  err = add(hb, "o1", "", {version("n1", 1, "a")});
  BOOST_TEST(is_kv_error(err, kv_errc::invalid_argument));
  err = add(hb, "o1", "k", {});
  BOOST_TEST(is_kv_error(err, kv_errc::invalid_argument));
  BOOST_TEST(pending(hb).empty());
}

BOOST_AUTO_TEST_CASE(a_full_buffer_refuses_with_a_clear_error) {
  auto s = fast_settings();
  s.max_hints = 3;
  auto hb = open_buffer(s);
  must_add(hb, "o1", "k1", {version("n1", 1, "a")});
  must_add(hb, "o1", "k2", {version("n1", 2, "b")});
  must_add(hb, "o2", "k1", {version("n1", 3, "c")});
  auto err = add(hb, "o2", "k2", {version("n1", 4, "d")});
  BOOST_TEST(is_kv_error(err, kv_errc::unavailable));
  auto text = describe(err);
  BOOST_TEST_MESSAGE("refusal: " << text);
  BOOST_TEST(text.find("hint buffer full: 3 of 3 hints") != std::string::npos);
  // The accepted ones remain, and a merge into one of them still fits.
  BOOST_TEST((pending(hb) == counts{{"o1", 2}, {"o2", 1}}));
  BOOST_TEST(held(hb, "o2", "k2").empty());
  must_add(hb, "o1", "k1", {version("n2", 1, "a'")});
  BOOST_TEST(values_of(held(hb, "o1", "k1")) == (strings{"a", "a'"}));
  BOOST_TEST(values_of(held(hb, "o1", "k2")) == strings{"b"});
  BOOST_TEST(values_of(held(hb, "o2", "k1")) == strings{"c"});
}

BOOST_AUTO_TEST_CASE(the_byte_bound_refuses_too) {
  auto s = fast_settings();
  s.max_bytes = 400;
  auto hb = open_buffer(s);
  must_add(hb, "o1", "k1", {version("n1", 1, "small")});
  auto err = add(hb, "o1", "k2", {version("n1", 2, std::string(500, 'x'))});
  BOOST_TEST(is_kv_error(err, kv_errc::unavailable));
  BOOST_TEST(describe(err).find("bytes") != std::string::npos);
  // Growing a held hint past the bound is refused as well.
  err = add(hb, "o1", "k1", {version("n2", 1, std::string(500, 'y'))});
  BOOST_TEST(is_kv_error(err, kv_errc::unavailable));
  BOOST_TEST(values_of(held(hb, "o1", "k1")) == strings{"small"});
  BOOST_TEST((pending(hb) == counts{{"o1", 1}}));
}

BOOST_AUTO_TEST_CASE(hints_reach_the_owner_when_it_is_seen_up) {
  auto s = fast_settings();
  s.batch = 3; // several batches, each started when the previous one ends
  auto hb = open_buffer(s);
  std::vector<replica_store_actor> stores{open_store(), open_store()};
  std::map<std::string, sibling_list> sent;
  for (int i = 0; i < 10; ++i) {
    auto key = "key" + std::to_string(i);
    sibling_list versions{version("n1", i + 1, "v" + std::to_string(i))};
    if (i % 3 == 0) // some with siblings
      versions.push_back(version("n2", i + 1, "w" + std::to_string(i)));
    must_add(hb, "o1", key, versions);
    sent[key] = reconcile({}, versions);
  }
  must_add(hb, "o2", "other", {version("n1", 99, "x")}); // no card: stays
  auto store_of = [&](const std::string& key) {
    return stores[store_shard_of(key, static_cast<uint32_t>(stores.size()))];
  };
  auto nothing_arrived = [&] {
    for (auto& [key, versions] : sent)
      if (!stored(store_of(key), key).empty())
        return false;
    return pending(hb) == counts{{"o1", 10}, {"o2", 1}};
  };
  // Down (and then suspect): nothing is delivered.
  tell_members(hb, "o1", member_status::down, stores);
  BOOST_TEST(throughout(nothing_arrived, 200ms));
  tell_members(hb, "o1", member_status::suspect, stores);
  BOOST_TEST(throughout(nothing_arrived, 100ms));
  // Up: everything arrives, at the store that serves each key.
  tell_members(hb, "o1", member_status::up, stores);
  BOOST_REQUIRE(eventually([&] { return pending(hb) == counts{{"o2", 1}}; }));
  for (auto& [key, versions] : sent) {
    BOOST_TEST(stored(store_of(key), key) == versions);
    BOOST_TEST(held(hb, "o1", key).empty());
  }
  stop(hb);
  BOOST_TEST(records_on_disk(std::string{"o1\0", 3}) == 0u);
  BOOST_TEST(records_on_disk() == 1u);
  auto reopened = open_buffer(s);
  BOOST_TEST((pending(reopened) == counts{{"o2", 1}}));
}

BOOST_AUTO_TEST_CASE(hints_wait_out_a_dead_store_and_go_to_a_live_one) {
  auto hb = open_buffer();
  auto dead = open_store();
  stop(dead);
  for (int i = 0; i < 5; ++i)
    must_add(hb, "o1", "k" + std::to_string(i),
             {version("n1", i + 1, "v" + std::to_string(i))});
  tell_members(hb, "o1", member_status::up, {dead});
  // Several attempts (tick 20 ms, backoff 20..80 ms) fail: the hints stay.
  BOOST_TEST(throughout([&] { return pending(hb) == counts{{"o1", 5}}; },
                        300ms));
  BOOST_TEST(values_of(held(hb, "o1", "k0")) == strings{"v0"});
  // A new card with a live store: delivered.
  auto live = open_store();
  tell_members(hb, "o1", member_status::up, {live});
  BOOST_REQUIRE(eventually([&] { return pending(hb).empty(); }));
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(values_of(stored(live, "k" + std::to_string(i)))
               == strings{"v" + std::to_string(i)});
}

BOOST_AUTO_TEST_CASE(a_hint_merged_during_delivery_is_kept_for_the_next_round) {
  // A stand-in store that hands each apply to the test, which answers it
  // (the reply goes back to the hint buffer) when it chooses.
  caf::scoped_actor observer{sys};
  auto fake = sys.spawn([obs = caf::actor{observer}](caf::event_based_actor* x)
                          -> caf::behavior {
    return {
      [=](apply_atom a, const std::string& key, const sibling_list& v) {
        return x->delegate(obs, a, key, v);
      },
    };
  });
  running.push_back(fake);
  auto hb = open_buffer();
  must_add(hb, "o1", "k", {version("n1", 1, "a")});
  tell_members(hb, "o1", member_status::up,
               {caf::actor_cast<replica_store_actor>(fake)});
  auto next_apply = [&](const std::function<void(const sibling_list&)>& f) {
    bool timed_out = false;
    observer->receive(
      [&](apply_atom, const std::string& key, const sibling_list& v) {
        BOOST_TEST(key == "k");
        f(v);
        return ok_atom::value;
      },
      caf::after(std::chrono::seconds(5)) >> [&] { timed_out = true; });
    BOOST_REQUIRE_MESSAGE(!timed_out, "no delivery arrived");
  };
  // While the first delivery is unanswered, a concurrent hint merges in.
  next_apply([&](const sibling_list& v) {
    BOOST_TEST(values_of(v) == strings{"a"});
    must_add(hb, "o1", "k", {version("n2", 1, "b")});
  });
  // The ok for the old record did not delete the merged one: it goes next.
  next_apply([&](const sibling_list& v) {
    BOOST_TEST(values_of(v) == (strings{"a", "b"}));
    BOOST_TEST(values_of(held(hb, "o1", "k")) == (strings{"a", "b"}));
    BOOST_TEST((pending(hb) == counts{{"o1", 1}}));
  });
  BOOST_REQUIRE(eventually([&] { return pending(hb).empty(); }));
  BOOST_TEST(held(hb, "o1", "k").empty());
}

// Regression (review of issue 8.9): a hint the owner refused as invalid
// (here: a value above the owner's own size limit) was retried with back-off
// forever, and the batch it was in never counted as delivered. Now it is set
// aside in the rejected table and the others go through.
BOOST_AUTO_TEST_CASE(a_hint_the_owner_refuses_as_invalid_is_set_aside) {
  store_engine = std::make_shared<wt_engine>(storage(dir.path / "store"));
  store_engine->create_table("kv");
  auto strict = spawn_replica_store(sys, store_engine,
                                    owner_store_settings(8));
  running.push_back(caf::actor_cast<caf::actor>(strict));
  auto hb = open_buffer();
  must_add(hb, "o1", "small", {version("n1", 1, "ok")});
  must_add(hb, "o1", "large", {version("n1", 2, "far more than eight bytes")});
  tell_members(hb, "o1", member_status::up, {strict});
  BOOST_REQUIRE(eventually([&] { return pending(hb).empty(); }));
  BOOST_TEST(values_of(stored(strict, "small")) == strings{"ok"});
  BOOST_TEST(stored(strict, "large").empty());
  stop(hb);
  running.clear();
  stop(strict);
  store_engine.reset();
  wt_engine engine{storage(hints_dir())};
  auto session = engine.open_session();
  auto rejected = session.open_table("hints_rejected");
  BOOST_TEST(rejected.count() == 1u);
}

BOOST_AUTO_TEST_CASE(expired_hints_are_dropped) {
  auto s = fast_settings();
  s.max_age = 50ms;
  auto hb = open_buffer(s);
  auto store = open_store();
  auto past = now_ms() - 10'000;
  must_add(hb, "o1", "old1", {version("n1", 1, "a")}, past);
  must_add(hb, "o1", "old2", {version("n1", 2, "b")}, past);
  must_add(hb, "o2", "fresh", {version("n1", 3, "c")}); // expires later
  // An up owner: the delivery scan drops expired hints instead of sending
  // them.
  must_add(hb, "o3", "old3", {version("n1", 4, "d")}, past);
  tell_members(hb, "o3", member_status::up, {store});
  BOOST_REQUIRE(eventually([&] { return pending(hb).empty(); }));
  BOOST_TEST(held(hb, "o1", "old1").empty());
  BOOST_TEST(held(hb, "o2", "fresh").empty());
  BOOST_TEST(stored(store, "old3").empty());
  stop(hb);
  BOOST_TEST(records_on_disk() == 0u);
}

// Regression (issue 8.10): a merged hint kept its oldest creation time, so a
// fresh write merged into an old hint expired with it and never reached its
// owner.
BOOST_AUTO_TEST_CASE(a_fresh_write_merged_into_an_old_hint_gets_the_whole_window) {
  auto s = fast_settings();
  s.max_age = 5s;
  auto hb = open_buffer(s);
  auto past = now_ms() - 10'000;
  must_add(hb, "o1", "merged", {version("n1", 1, "old")}, past);
  must_add(hb, "o1", "merged", {version("n1", 2, "fresh")});
  must_add(hb, "o1", "expiring", {version("n1", 3, "old")}, past);
  // The sweep that drops the expired hint keeps the merged one.
  BOOST_REQUIRE(eventually([&] { return held(hb, "o1", "expiring").empty(); }));
  BOOST_TEST(held(hb, "o1", "merged").size() == 2u);
  stop(hb);
}

BOOST_AUTO_TEST_SUITE_END()
