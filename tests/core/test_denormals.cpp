// Flushing subnormals to zero (kernels/cpu/denormals.h): on every thread the CPU kernels and
// OpenBLAS run on, for results and inputs alike, and undone by keeping them. The test runner
// itself keeps them (IEEE), so that the conversion tests see subnormals as PyTorch does.
#include <omp.h>

#include <catch2/catch.hpp>
#include <vector>

#include "core/ops.h"
#include "core/tensor.h"
#include "kernels/cpu/denormals.h"

using namespace iapt;

namespace {

// One result per OpenMP thread: (2^-126 * 0.5, a made subnormal) and (a given subnormal * 1).
std::vector<std::pair<float, float>> subnormals_on_each_thread() {
  std::vector<std::pair<float, float>> out(static_cast<size_t>(omp_get_max_threads()));
#pragma omp parallel num_threads(omp_get_max_threads())
  {
    volatile float smallest_normal = 1.17549435e-38f, given = 5.0e-39f, half = 0.5f, one = 1.0f;
    out[static_cast<size_t>(omp_get_thread_num())] = {smallest_normal * half, given * one};
  }
  return out;
}

struct KeepOnExit {
  ~KeepOnExit() { kernels::cpu::set_flush_denormals(false); }
};

}  // namespace

TEST_CASE("cpu: flushing denormals zeroes subnormal results and inputs on every thread, and keeping restores them",
          "[core][denormals]") {
  KeepOnExit restore;
  REQUIRE_FALSE(kernels::cpu::flushing_denormals());  // the runner keeps them
  for (auto [made, given] : subnormals_on_each_thread()) {
    CHECK(made > 0);
    CHECK(given > 0);
  }
  // a product of normal numbers whose exact result is subnormal, through BLAS on its threads
  const Tensor a = full({64, 64}, 1e-20, DType::F32), b = full({64, 64}, 1e-20, DType::F32);
  CHECK(ops::matmul(a, b, false, true).at({5, 7}) > 0);  // 64e-40: subnormal

  if (!kernels::cpu::set_flush_denormals(true)) {
    SUCCEED("this CPU has no flush-to-zero mode");
    return;
  }
  CHECK(kernels::cpu::flushing_denormals());
  for (auto [made, given] : subnormals_on_each_thread()) {
    CHECK(made == 0);
    CHECK(given == 0);
  }
  CHECK(ops::matmul(a, b, false, true).at({5, 7}) == 0);

  kernels::cpu::set_flush_denormals(false);
  CHECK_FALSE(kernels::cpu::flushing_denormals());
  for (auto [made, given] : subnormals_on_each_thread()) CHECK(made > 0);
  CHECK(ops::matmul(a, b, false, true).at({5, 7}) > 0);
}
