#include "messages/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace kv {

namespace {

// 2^7 exact values, then 64 sub-buckets per power of two.
constexpr unsigned linear_bits = 7;
constexpr uint64_t linear_limit = uint64_t{1} << linear_bits;    // 128
constexpr uint64_t sub_buckets = linear_limit / 2;                // 64
constexpr std::size_t bucket_count
  = linear_limit + (64 - linear_bits) * sub_buckets;              // 3776

} // namespace

latency_histogram::latency_histogram() : counts_(bucket_count, 0) {
  // nop
}

std::size_t latency_histogram::bucket_of(uint64_t ns) {
  if (ns < linear_limit)
    return static_cast<std::size_t>(ns);
  auto msb = 63 - static_cast<unsigned>(__builtin_clzll(ns));
  auto shift = msb - (linear_bits - 1);
  return static_cast<std::size_t>(linear_limit + (shift - 1) * sub_buckets
                                  + ((ns >> shift) - sub_buckets));
}

uint64_t latency_histogram::bucket_low(std::size_t bucket) {
  if (bucket < linear_limit)
    return bucket;
  auto shift = (bucket - linear_limit) / sub_buckets + 1;
  auto mantissa = (bucket - linear_limit) % sub_buckets + sub_buckets;
  return static_cast<uint64_t>(mantissa) << shift;
}

uint64_t latency_histogram::bucket_high(std::size_t bucket) {
  if (bucket < linear_limit)
    return bucket;
  auto shift = (bucket - linear_limit) / sub_buckets + 1;
  return bucket_low(bucket) + ((uint64_t{1} << shift) - 1);
}

void latency_histogram::record(uint64_t ns) {
  ++counts_[bucket_of(ns)];
  ++count_;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
  sum_ += ns;
}

void latency_histogram::merge(const latency_histogram& other) {
  for (std::size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double latency_histogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / count_);
}

uint64_t latency_histogram::percentile(double p) const {
  if (count_ == 0)
    return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The rank of the sample we want (1-based); p = 0 means the minimum. The
  // epsilon keeps 99.9% of 1000 at rank 999 despite 99.9 not being exact in
  // binary.
  auto exact = p * static_cast<double>(count_) / 100.0;
  auto rank = static_cast<uint64_t>(std::ceil(exact - 1e-7));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::clamp(bucket_high(i), min(), max_);
  }
  return max_;
}

void latency_histogram::subtract(const latency_histogram& earlier) {
  std::size_t lowest = counts_.size(), highest = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    counts_[i] -= std::min(counts_[i], earlier.counts_[i]);
    if (counts_[i] > 0) {
      lowest = std::min(lowest, i);
      highest = i;
    }
  }
  count_ -= std::min(count_, earlier.count_);
  sum_ = std::max<long double>(0, sum_ - earlier.sum_);
  if (count_ == 0 || lowest == counts_.size()) {
    count_ = 0;
    min_ = UINT64_MAX;
    max_ = 0;
    return;
  }
  min_ = bucket_low(lowest);
  max_ = bucket_high(highest);
}

uint64_t latency_histogram::count_at_or_below(uint64_t ns) const {
  uint64_t n = 0;
  auto last = bucket_of(ns);
  for (std::size_t i = 0; i <= last && i < counts_.size(); ++i)
    n += counts_[i];
  return n;
}

} // namespace kv
