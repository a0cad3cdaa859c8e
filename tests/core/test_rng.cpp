#include <catch2/catch.hpp>
#include <cmath>

#include "core/rng.h"
#include "core/tensor.h"

using namespace iapt;

TEST_CASE("rng: one seed gives one stream, element i depends only on seed and counter", "[core][rng]") {
  manual_seed(42);
  Tensor a = randn({1000}, DType::F64);
  Tensor b = rand({10}, DType::F32);
  manual_seed(42);
  Tensor a2 = randn({1000}, DType::F64);
  Tensor b2 = rand({10}, DType::F32);
  CHECK(a.to_vector() == a2.to_vector());
  CHECK(b.to_vector() == b2.to_vector());

  // Drawing in two pieces gives the same numbers as one draw: counters, not thread state.
  manual_seed(7);
  Tensor whole = rand({8}, DType::F64);
  manual_seed(7);
  Tensor first = rand({3}, DType::F64), second = rand({5}, DType::F64);
  auto w = whole.to_vector(), f = first.to_vector(), s = second.to_vector();
  for (int i = 0; i < 3; ++i) CHECK(w[i] == f[i]);
  for (int i = 0; i < 5; ++i) CHECK(w[3 + i] == s[i]);
  CHECK(w[0] == philox_uniform_f64(7, 0));

  manual_seed(43);
  CHECK(randn({1000}, DType::F64).to_vector() != a.to_vector());
}

TEST_CASE("rng: uniform and normal have the right moments", "[core][rng]") {
  manual_seed(3);
  auto u = rand({200000}, DType::F64).to_vector();
  auto n = randn({200000}, DType::F64).to_vector();
  double su = 0, sn = 0, sn2 = 0, lo = 1, hi = 0;
  for (double v : u) su += v, lo = std::min(lo, v), hi = std::max(hi, v);
  for (double v : n) sn += v, sn2 += v * v;
  const double count = 200000.0;
  CHECK(su / count == Approx(0.5).margin(0.005));
  CHECK(lo >= 0.0);
  CHECK(hi < 1.0);
  CHECK(sn / count == Approx(0.0).margin(0.01));
  CHECK(sn2 / count == Approx(1.0).margin(0.01));
}

TEST_CASE("rng: Philox4x32-10 matches the Random123 known-answer vector", "[core][rng]") {
  // Random123 kat_vectors: philox4x32 10 rounds, counter {0,0,0,0}, key {0,0}.
  PhiloxBlock b = philox4x32_10(0, 0);
  CHECK(b.v[0] == 0x6627e8d5u);
  CHECK(b.v[1] == 0xe169c58du);
  CHECK(b.v[2] == 0xbc57ac4cu);
  CHECK(b.v[3] == 0x9b00dbd8u);
}
