#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kv {

// SplitMix64: tiny, fast and fully specified, so a --seed reproduces the same
// key sequence on every platform (std::*_distribution is not portable).
class bench_rng {
public:
  explicit bench_rng(uint64_t seed) : state_(seed) {
    // nop
  }

  uint64_t next();

  // Uniform in [0, 1) with 53 random bits.
  double next_double();

  // Uniform in [0, bound); bound > 0.
  uint64_t next_below(uint64_t bound);

private:
  uint64_t state_;
};

enum class key_distribution { uniform, zipfian };

const char* to_string(key_distribution x);
bool parse_distribution(std::string_view text, key_distribution& out);

// Draws key indices in [0, keys).
class key_generator {
public:
  virtual ~key_generator();
  virtual uint64_t next(bench_rng& rng) const = 0;
  virtual uint64_t keys() const = 0;
};

class uniform_generator : public key_generator {
public:
  explicit uniform_generator(uint64_t keys);
  uint64_t next(bench_rng& rng) const override;
  uint64_t keys() const override { return keys_; }

private:
  uint64_t keys_;
};

// YCSB's ZipfianGenerator (Gray et al., "Quickly generating billion-record
// synthetic databases"): rank 0 is the most popular item, P(rank i) is
// proportional to 1 / (i + 1)^theta.
class zipfian_generator : public key_generator {
public:
  static constexpr double default_theta = 0.99;

  // O(keys) once, to compute zeta(keys, theta).
  explicit zipfian_generator(uint64_t keys, double theta = default_theta);

  // The rank drawn, 0 = hottest.
  uint64_t next(bench_rng& rng) const override;
  uint64_t keys() const override { return keys_; }

  // The exact probability of rank `i` (for tests and reports).
  double probability(uint64_t rank) const;

private:
  uint64_t keys_;
  double theta_;
  double zetan_;
  double alpha_;
  double eta_;
  double half_pow_theta_;
};

// YCSB's ScrambledZipfianGenerator: zipfian popularity, but the hot ranks are
// hashed over the whole key space so the hot keys do not sit next to each
// other in the B-tree (which would flatter the storage engine's cache).
class scrambled_zipfian_generator : public key_generator {
public:
  explicit scrambled_zipfian_generator(uint64_t keys,
                                       double theta
                                       = zipfian_generator::default_theta);
  uint64_t next(bench_rng& rng) const override;
  uint64_t keys() const override { return ranks_.keys(); }

  // Where rank `r` lands in the key space.
  uint64_t key_of_rank(uint64_t rank) const;

private:
  zipfian_generator ranks_;
};

std::unique_ptr<key_generator> make_key_generator(key_distribution dist,
                                                  uint64_t keys);

// 64-bit FNV-1a of the 8 bytes of `x` (YCSB's fnvhash64).
uint64_t fnv1a_64(uint64_t x);

// The key stored for index `i`: "k" + 12 zero-padded digits, so a sequential
// preload inserts in key order and every key has the same size.
std::string key_name(uint64_t i);

// Writes the name into `out` (reused buffer, no allocation once sized).
void key_name(uint64_t i, std::string& out);

} // namespace kv
