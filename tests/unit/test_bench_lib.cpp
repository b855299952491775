#define BOOST_TEST_MODULE test_bench_lib
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "bench/bench_options.hpp"
#include "bench/key_generator.hpp"
#include "messages/latency_histogram.hpp"
#include "bench/report.hpp"
#include "bench/workload.hpp"

namespace kv {

// Boost.Test prints the operands of a failed comparison.
std::ostream& operator<<(std::ostream& out, bench_mode x) {
  return out << to_string(x);
}

std::ostream& operator<<(std::ostream& out, key_distribution x) {
  return out << to_string(x);
}

} // namespace kv

using namespace kv;

namespace {

parse_outcome parse(std::vector<std::string> args) {
  return parse_bench_options(args);
}

std::size_t commas(const std::string& line) {
  return static_cast<std::size_t>(std::count(line.begin(), line.end(), ','));
}

} // namespace

BOOST_AUTO_TEST_SUITE(key_generators)

BOOST_AUTO_TEST_CASE(rng_is_deterministic_per_seed) {
  bench_rng a{7};
  bench_rng b{7};
  bench_rng c{8};
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    auto x = a.next();
    BOOST_TEST(x == b.next());
    differs |= x != c.next();
  }
  BOOST_TEST(differs);
}

BOOST_AUTO_TEST_CASE(uniform_is_flat_and_in_range) {
  uniform_generator gen{1000};
  bench_rng rng{1};
  std::vector<int> tenths(10, 0);
  constexpr int samples = 200000;
  for (int i = 0; i < samples; ++i) {
    auto k = gen.next(rng);
    BOOST_REQUIRE(k < 1000u);
    ++tenths[k / 100];
  }
  for (auto n : tenths)
    BOOST_TEST(std::abs(n - samples / 10) < samples / 10 / 20); // within 5%
}

BOOST_AUTO_TEST_CASE(zipfian_is_deterministic) {
  zipfian_generator gen{10000};
  bench_rng a{42};
  bench_rng b{42};
  for (int i = 0; i < 1000; ++i)
    BOOST_TEST(gen.next(a) == gen.next(b));
}

BOOST_AUTO_TEST_CASE(zipfian_skew_matches_theta_099) {
  constexpr uint64_t keys = 1000;
  constexpr int samples = 400000;
  zipfian_generator gen{keys};
  bench_rng rng{42};
  std::vector<int> counts(keys, 0);
  for (int i = 0; i < samples; ++i) {
    auto rank = gen.next(rng);
    BOOST_REQUIRE(rank < keys);
    ++counts[rank];
  }
  // P(rank 0) = 1/zeta(1000, 0.99), about 0.13: the hottest key alone gets
  // over a tenth of the traffic.
  auto p0 = gen.probability(0);
  BOOST_TEST(p0 > 0.12);
  BOOST_TEST(p0 < 0.14);
  auto share = [&](uint64_t rank) {
    return static_cast<double>(counts[rank]) / samples;
  };
  // Ranks 0 and 1 are drawn exactly; allow 3% relative sampling noise.
  BOOST_TEST(std::abs(share(0) / p0 - 1) < 0.03);
  BOOST_TEST(std::abs(share(1) / gen.probability(1) - 1) < 0.03);
  // Popularity falls with rank.
  BOOST_TEST(counts[0] > counts[1]);
  BOOST_TEST(counts[1] > counts[9]);
  BOOST_TEST(counts[9] > counts[99]);
  // The top 10% of ranks: Gray's method is an approximation past rank 1,
  // so allow 5% relative.
  double expected_top = 0;
  int seen_top = 0;
  for (uint64_t r = 0; r < keys / 10; ++r) {
    expected_top += gen.probability(r);
    seen_top += counts[r];
  }
  BOOST_TEST(expected_top > 0.6);
  BOOST_TEST(std::abs(static_cast<double>(seen_top) / samples / expected_top
                      - 1)
             < 0.05);
}

BOOST_AUTO_TEST_CASE(scrambled_zipfian_spreads_hot_keys) {
  constexpr uint64_t keys = 100000;
  scrambled_zipfian_generator gen{keys};
  // The hottest ranks do not land next to each other.
  auto k0 = gen.key_of_rank(0);
  auto k1 = gen.key_of_rank(1);
  BOOST_TEST(k0 < keys);
  BOOST_TEST(k1 < keys);
  BOOST_TEST((k0 > k1 ? k0 - k1 : k1 - k0) > 1u);
  bench_rng rng{3};
  int hits = 0;
  constexpr int samples = 100000;
  for (int i = 0; i < samples; ++i) {
    auto k = gen.next(rng);
    BOOST_REQUIRE(k < keys);
    hits += k == k0;
  }
  zipfian_generator ranks{keys};
  // At least rank 0's share (hash collisions can only add to it).
  BOOST_TEST(static_cast<double>(hits) / samples
             > ranks.probability(0) * 0.95);
}

BOOST_AUTO_TEST_CASE(key_names_are_fixed_width) {
  BOOST_TEST(key_name(0) == "k000000000000");
  BOOST_TEST(key_name(42) == "k000000000042");
  BOOST_TEST(key_name(999999999999ULL) == "k999999999999");
  BOOST_TEST(key_name(7) < key_name(10)); // preload runs in key order
}

BOOST_AUTO_TEST_CASE(op_stream_honours_read_ratio) {
  uniform_generator keys{100};
  op_stream none{keys, 0.0, 1, 0};
  op_stream all{keys, 1.0, 1, 0};
  op_stream some{keys, 0.3, 1, 0};
  int reads = 0;
  for (int i = 0; i < 10000; ++i) {
    BOOST_TEST(!none.next().read);
    BOOST_TEST(all.next().read);
    reads += some.next().read;
  }
  BOOST_TEST(std::abs(reads - 3000) < 300);
  // Clients of one run draw different sequences.
  op_stream c0{keys, 0.5, 1, 0};
  op_stream c1{keys, 0.5, 1, 1};
  int same = 0;
  for (int i = 0; i < 100; ++i)
    same += c0.next().key == c1.next().key;
  BOOST_TEST(same < 20);
}

BOOST_AUTO_TEST_CASE(slices_cover_the_key_space) {
  uint64_t next = 0;
  for (uint32_t i = 0; i < 7; ++i) {
    auto s = slice_of(100, 7, i);
    BOOST_TEST(s.begin == next);
    BOOST_TEST(s.end - s.begin >= 14u);
    next = s.end;
  }
  BOOST_TEST(next == 100u);
  BOOST_TEST(slice_of(2, 4, 3).begin == slice_of(2, 4, 3).end); // empty
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(histogram)

BOOST_AUTO_TEST_CASE(buckets_tile_the_range) {
  for (std::size_t b = 0; b + 1 < 3776; ++b)
    BOOST_REQUIRE(latency_histogram::bucket_high(b) + 1
                  == latency_histogram::bucket_low(b + 1));
  for (uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 129ULL, 1000ULL, 123456789ULL,
                     (1ULL << 40) + 12345, ~0ULL}) {
    auto b = latency_histogram::bucket_of(v);
    BOOST_TEST(latency_histogram::bucket_low(b) <= v);
    BOOST_TEST(latency_histogram::bucket_high(b) >= v);
    // Relative width at most 1/64.
    BOOST_TEST(latency_histogram::bucket_high(b)
                 - latency_histogram::bucket_low(b)
               <= v / 64);
  }
}

BOOST_AUTO_TEST_CASE(small_values_are_exact) {
  latency_histogram h;
  for (uint64_t v = 100; v >= 1; --v)
    h.record(v);
  BOOST_TEST(h.count() == 100u);
  BOOST_TEST(h.percentile(0) == 1u);
  BOOST_TEST(h.percentile(50) == 50u);
  BOOST_TEST(h.percentile(99) == 99u);
  BOOST_TEST(h.percentile(100) == 100u);
  BOOST_TEST(h.min() == 1u);
  BOOST_TEST(h.max() == 100u);
  BOOST_TEST(h.mean() == 50.5);
}

BOOST_AUTO_TEST_CASE(p999_picks_the_right_rank) {
  latency_histogram h;
  for (int i = 0; i < 999; ++i)
    h.record(10);
  h.record(100);
  // 99.9% of 1000 is rank 999: still the common value, not the outlier.
  BOOST_TEST(h.percentile(99.9) == 10u);
  BOOST_TEST(h.percentile(99.95) == 100u);
}

BOOST_AUTO_TEST_CASE(large_values_within_bucket_precision) {
  latency_histogram h;
  // 1..10000 us in ns.
  for (uint64_t us = 1; us <= 10000; ++us)
    h.record(us * 1000);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    auto exact = static_cast<double>(std::ceil(p * 100.0 - 1e-7)) * 1000;
    auto got = static_cast<double>(h.percentile(p));
    BOOST_TEST(got >= exact);
    BOOST_TEST(got <= exact * (1 + 1.0 / 64));
  }
  BOOST_TEST(h.percentile(100) == 10000000u); // never above the max
}

BOOST_AUTO_TEST_CASE(merge_adds_samples) {
  latency_histogram a;
  latency_histogram b;
  latency_histogram both;
  for (uint64_t v = 1; v < 5000; v += 3) {
    (v % 2 ? a : b).record(v * 17);
    both.record(v * 17);
  }
  a.merge(b);
  BOOST_TEST(a.count() == both.count());
  BOOST_TEST(a.max() == both.max());
  BOOST_TEST(a.min() == both.min());
  for (double p : {1.0, 50.0, 99.0, 99.9})
    BOOST_TEST(a.percentile(p) == both.percentile(p));
  latency_histogram empty;
  BOOST_TEST(empty.percentile(99) == 0u);
  BOOST_TEST(empty.max() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(options)

BOOST_AUTO_TEST_CASE(defaults_are_valid) {
  auto res = parse({});
  BOOST_TEST(!res.error);
  BOOST_TEST(res.opts.mode == bench_mode::compare);
  BOOST_TEST(res.opts.duration_s == 10.0);
}

BOOST_AUTO_TEST_CASE(parses_every_kind_of_value) {
  auto res = parse({"--mode=raw", "--clients=8", "--depth=32", "--keys=5000",
                    "--value-size=1024", "--read-ratio=0.95",
                    "--dist=zipfian", "--ops=1000", "--seed=7", "--csv",
                    "--warmup-keys=false", "--raw-plain", "--n=3", "--r=2",
                    "--w=2"});
  BOOST_REQUIRE(!res.error);
  auto& o = res.opts;
  BOOST_TEST(o.mode == bench_mode::raw);
  BOOST_TEST(o.clients == 8u);
  BOOST_TEST(o.depth == 32u);
  BOOST_TEST(o.keys == 5000u);
  BOOST_TEST(o.value_size == 1024u);
  BOOST_TEST(o.read_ratio == 0.95);
  BOOST_TEST(o.dist == key_distribution::zipfian);
  BOOST_TEST(o.ops == 1000u);
  BOOST_TEST(o.duration_s == 0.0); // --ops replaces the default duration
  BOOST_TEST(o.seed == 7u);
  BOOST_TEST(o.csv);
  BOOST_TEST(!o.warmup_keys);
  BOOST_TEST(o.raw_plain);
  BOOST_TEST(o.n == 3u);
}

BOOST_AUTO_TEST_CASE(rejects_bad_options_with_one_line) {
  const std::vector<std::vector<std::string>> bad{
    {"--clients=0"},          {"--clients=-1"},
    {"--clients=abc"},        {"--clients"},
    {"--depth=0"},            {"--keys=0"},
    {"--read-ratio=1.5"},     {"--read-ratio=-0.1"},
    {"--read-ratio=half"},    {"--dist=pareto"},
    {"--mode=fast"},          {"--duration=0"},
    {"--duration=-3"},        {"--duration=1", "--ops=10"},
    {"--value-size=2000000"}, {"--n=1", "--r=2"},
    {"--csv=maybe"},          {"--durability=never"},
    {"--frobnicate=1"},       {"clients=4"},
    {"--mode=remote", "--port=0"},
    {"--mode=embedded", "--raw-plain"},
    {"--scheduler-policy=fifo"},
    {"--port=70000"},
    {"--rate=-5"},            {"--rate=1e-10"},
    {"--rate=nan"},
  };
  for (auto& args : bad) {
    auto res = parse(args);
    BOOST_TEST_CONTEXT(args.front()) {
      BOOST_REQUIRE(res.error.has_value());
      BOOST_TEST(!res.error->empty());
      BOOST_TEST(res.error->find('\n') == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(help_skips_validation) {
  auto res = parse({"--clients=0", "--help"});
  BOOST_TEST(res.opts.help);
  BOOST_TEST(!res.error);
}

BOOST_AUTO_TEST_CASE(rounds_and_raw_clients) {
  auto res = parse({"--rounds=3", "--raw-clients=1", "--clients=8"});
  BOOST_REQUIRE(!res.error);
  BOOST_TEST(res.opts.rounds == 3u);
  BOOST_TEST(raw_threads(res.opts) == 1u);
  BOOST_TEST(raw_threads(parse({"--clients=8"}).opts) == 8u);
  BOOST_TEST(parse({"--rounds=0"}).error.has_value());
  BOOST_TEST(parse({"--ops=2", "--rounds=3"}).error.has_value());
  BOOST_TEST(!parse({"--mode=raw", "--ops=2", "--rounds=3"}).error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(report)

BOOST_AUTO_TEST_CASE(windows_add_up) {
  run_result total;
  for (int i = 0; i < 3; ++i) {
    run_result w;
    w.elapsed_s = 2;
    w.cpu_s = 1;
    for (int j = 0; j < 10; ++j)
      w.writes.latency.record(1000 * (i + 1));
    total.add_window(w);
  }
  BOOST_TEST(total.elapsed_s == 6.0);
  BOOST_TEST(total.ops() == 30u);
  BOOST_TEST(total.ops_per_s() == 5.0);
  BOOST_TEST(total.cpu_us_per_op() == 1e5);
  BOOST_TEST(total.writes.latency.max() == 3000u);
}

BOOST_AUTO_TEST_CASE(ratio_and_csv_columns_line_up) {
  bench_options opts;
  run_result raw;
  raw.mode = "raw";
  raw.elapsed_s = 2;
  run_result emb;
  emb.mode = "embedded";
  emb.elapsed_s = 2;
  for (int i = 0; i < 100; ++i) {
    raw.reads.latency.record(1000);
    raw.writes.latency.record(2000);
  }
  for (int i = 0; i < 30; ++i)
    emb.writes.latency.record(5000);
  emb.reads.errors = 1;
  BOOST_TEST(raw.ops_per_s() == 100.0);
  BOOST_TEST(throughput_ratio(emb, raw) == 0.15);
  raw.cpu_s = 1;  // 5 ms per op
  emb.cpu_s = 0.6; // 20 ms per op
  BOOST_TEST(cpu_per_op_ratio(emb, raw) == 4.0);
  BOOST_TEST(emb.errors() == 1u);
  auto header = format_csv_header(opts);
  auto line = format_csv_line(opts, {raw, emb});
  BOOST_TEST(commas(header) == commas(line));
  BOOST_TEST(line.find('\n') == std::string::npos);
  // The ratio sits in the column the header names.
  auto column = [](const std::string& csv, std::size_t i) {
    std::size_t begin = 0;
    for (; i > 0; --i)
      begin = csv.find(',', begin) + 1;
    return csv.substr(begin, csv.find(',', begin) - begin);
  };
  std::size_t ratio_col = 0;
  while (column(header, ratio_col) != "ratio_embedded_raw")
    ++ratio_col;
  BOOST_TEST(column(line, ratio_col) == "0.1500");
  auto table = format_table(opts, {raw, emb});
  BOOST_TEST(table.find("embedded/raw throughput: 0.150") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
