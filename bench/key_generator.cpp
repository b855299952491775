#include "bench/key_generator.hpp"

#include <cmath>
#include <stdexcept>

namespace kv {

uint64_t bench_rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double bench_rng::next_double() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

uint64_t bench_rng::next_below(uint64_t bound) {
  // Lemire's multiply-shift: the bias is below 2^-64 * bound, far under what
  // a benchmark could notice, and there is no division.
  return static_cast<uint64_t>(
    (static_cast<unsigned __int128>(next()) * bound) >> 64);
}

const char* to_string(key_distribution x) {
  switch (x) {
    case key_distribution::uniform:
      return "uniform";
    case key_distribution::zipfian:
      return "zipfian";
  }
  return "?";
}

bool parse_distribution(std::string_view text, key_distribution& out) {
  if (text == "uniform") {
    out = key_distribution::uniform;
    return true;
  }
  if (text == "zipfian") {
    out = key_distribution::zipfian;
    return true;
  }
  return false;
}

key_generator::~key_generator() {
  // nop
}

uniform_generator::uniform_generator(uint64_t keys) : keys_(keys) {
  if (keys == 0)
    throw std::invalid_argument("uniform_generator: no keys");
}

uint64_t uniform_generator::next(bench_rng& rng) const {
  return rng.next_below(keys_);
}

namespace {

double zeta(uint64_t n, double theta) {
  double sum = 0;
  for (uint64_t i = 1; i <= n; ++i)
    sum += 1.0 / std::pow(static_cast<double>(i), theta);
  return sum;
}

} // namespace

zipfian_generator::zipfian_generator(uint64_t keys, double theta)
  : keys_(keys), theta_(theta) {
  if (keys == 0)
    throw std::invalid_argument("zipfian_generator: no keys");
  if (!(theta > 0 && theta < 1))
    throw std::invalid_argument("zipfian_generator: theta must be in (0, 1)");
  zetan_ = zeta(keys, theta);
  auto zeta2 = zeta(2, theta);
  alpha_ = 1.0 / (1.0 - theta);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(keys), 1.0 - theta))
         / (1.0 - zeta2 / zetan_);
  half_pow_theta_ = std::pow(0.5, theta);
}

uint64_t zipfian_generator::next(bench_rng& rng) const {
  auto u = rng.next_double();
  auto uz = u * zetan_;
  if (uz < 1.0)
    return 0;
  if (uz < 1.0 + half_pow_theta_)
    return keys_ > 1 ? 1 : 0;
  auto rank = static_cast<uint64_t>(static_cast<double>(keys_)
                                    * std::pow(eta_ * u - eta_ + 1.0, alpha_));
  // Rounding at u close to 1 can reach keys_.
  return rank < keys_ ? rank : keys_ - 1;
}

double zipfian_generator::probability(uint64_t rank) const {
  return 1.0 / std::pow(static_cast<double>(rank + 1), theta_) / zetan_;
}

scrambled_zipfian_generator::scrambled_zipfian_generator(uint64_t keys,
                                                         double theta)
  : ranks_(keys, theta) {
  // nop
}

uint64_t scrambled_zipfian_generator::key_of_rank(uint64_t rank) const {
  return fnv1a_64(rank) % ranks_.keys();
}

uint64_t scrambled_zipfian_generator::next(bench_rng& rng) const {
  return key_of_rank(ranks_.next(rng));
}

std::unique_ptr<key_generator> make_key_generator(key_distribution dist,
                                                  uint64_t keys) {
  if (dist == key_distribution::zipfian)
    return std::make_unique<scrambled_zipfian_generator>(keys);
  return std::make_unique<uniform_generator>(keys);
}

uint64_t fnv1a_64(uint64_t x) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (int i = 0; i < 8; ++i) {
    hash ^= x & 0xff;
    hash *= 0x100000001b3ULL;
    x >>= 8;
  }
  return hash;
}

void key_name(uint64_t i, std::string& out) {
  constexpr int digits = 12;
  out.assign(1 + digits, '0');
  out[0] = 'k';
  for (int pos = digits; pos >= 1 && i > 0; --pos) {
    out[pos] = static_cast<char>('0' + i % 10);
    i /= 10;
  }
}

std::string key_name(uint64_t i) {
  std::string out;
  key_name(i, out);
  return out;
}

} // namespace kv
