#pragma once

#include <cstdint>
#include <vector>

namespace kv {

// An HDR-style log-linear histogram of durations in nanoseconds: values below
// 128 are exact, larger ones fall in buckets 1/64 of their power of two wide,
// so every reported percentile is within 1.6% of the true sample while the
// whole range of uint64 fits in ~30 KB. Recording is O(1) and allocation
// free, so it can sit in a request's reply handler.
class latency_histogram {
public:
  latency_histogram();

  void record(uint64_t ns);

  // Adds every sample of `other` (per-client histograms into one report).
  void merge(const latency_histogram& other);

  // Removes the samples of `earlier`, a previous state of this same
  // histogram (it only grew since): what was recorded in between. min()
  // and max() become the edges of the lowest and highest bucket left.
  void subtract(const latency_histogram& earlier);

  // Samples at or below `ns` (a bucket's upper edge counts whole), for
  // cumulative buckets such as Prometheus's.
  uint64_t count_at_or_below(uint64_t ns) const;
  long double sum() const { return sum_; }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f,
                                                 latency_histogram& x) {
    return f(x.counts_, x.count_, x.min_, x.max_, x.sum_);
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const;

  // The smallest recorded value v such that at least p percent of samples
  // are <= v, rounded up to its bucket's upper edge (never above max()).
  // p in [0, 100]; 0 when empty.
  uint64_t percentile(double p) const;

  // Bucket arithmetic, exposed for tests.
  static std::size_t bucket_of(uint64_t ns);
  static uint64_t bucket_low(std::size_t bucket);
  static uint64_t bucket_high(std::size_t bucket); // inclusive

private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

} // namespace kv
