// iapt_parity GROUP: runs one group of CUDA-vs-CPU parity cases; exit 77 (skipped) without a GPU.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <set>

#include "core/backend.h"
#include "core/error.h"
#include "kernels/backends.h"
#include "tests/kernel_recorder.h"
#include "tests/backend/parity.h"

using namespace iapt;

namespace {

struct Comparison {
  bool ok = true;
  double worst_abs = 0, worst_rel = 0;
  std::string detail;
};

Comparison compare(const Tensor& cpu, const Tensor& gpu, parity::Tolerance tol, bool exact) {
  Comparison c;
  if (cpu.shape() != gpu.shape() || cpu.dtype() != gpu.dtype()) {
    c.ok = false;
    c.detail = fmt::format("shape/dtype {} {} vs {} {}", shape_str(cpu.shape()), dtype_name(cpu.dtype()),
                           shape_str(gpu.shape()), dtype_name(gpu.dtype()));
    return c;
  }
  auto a = cpu.to_vector(), b = gpu.to_vector();
  double worst_score = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::abs(a[i] - b[i]);
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) {
      c.ok = false;
      c.detail = fmt::format("non-finite value at {}: cpu {} gpu {}", i, a[i], b[i]);
      return c;
    }
    const double score = exact ? (a[i] == b[i] ? 0.0 : 2.0) : err / (tol.atol + tol.rtol * std::abs(a[i]));
    c.worst_abs = std::max(c.worst_abs, err);
    if (std::abs(a[i]) > 1e-6) c.worst_rel = std::max(c.worst_rel, err / std::abs(a[i]));
    if (score > worst_score) {
      worst_score = score;
      c.detail = fmt::format("element {}: cpu {:.9g} gpu {:.9g}", i, a[i], b[i]);
    }
  }
  c.ok = worst_score <= 1.0;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  kernels::restart_if_blas_misdetects_cpu(argv);
  kernels::register_backends();
  testing::record_kernels_if_asked();
  parity::register_cases();
  const std::string group = argc > 1 ? argv[1] : "";
  if (group == "--cpu-only") {
    // Every case's CPU half, in f64 (16-bit cases in each of their dtypes), for the kernel-coverage
    // test (IAPT_KERNEL_RECORD): it names the kernels some parity case calls, with or without a GPU.
    for (const auto& c : parity::registry())
      for (DType dt : c.dtypes)
        if (dt != DType::F32) c.run(Device::CPU, dt);
    fmt::print("ran the CPU half of {} parity cases\n", parity::registry().size());
    return 0;
  }
  std::set<std::string> groups;
  for (const auto& c : parity::registry()) groups.insert(c.group);
  for (const auto& c : parity::checks()) groups.insert(c.group);
  if (group.empty() || group == "--list") {
    for (const auto& g : groups) fmt::print("{}\n", g);
    return group.empty() ? 2 : 0;
  }
  if (!groups.count(group)) {
    fmt::print(stderr, "iapt_parity: unknown group '{}'\n", group);
    return 2;
  }
  int64_t planned = 0;
  for (const auto& c : parity::registry()) planned += c.group == group ? static_cast<int64_t>(c.dtypes.size()) : 0;
  for (const auto& c : parity::checks()) planned += c.group == group ? 1 : 0;
  if (!device_available(Device::CUDA)) {
    fmt::print("SKIPPED cuda parity '{}': {} checks not run ({})\n", group, planned,
               cuda_compiled() ? "no GPU visible" : "this build has no CUDA backend");
    return 77;
  }

  int passed = 0, failed = 0;
  for (const auto& c : parity::registry()) {
    if (c.group != group) continue;
    for (DType dt : c.dtypes) {
      const parity::Tolerance tol = c.tolerance(dt);
      std::string verdict;
      bool ok = true;
      double worst_rel = 0;
      try {
        parity::Results cpu = c.run(Device::CPU, dt);
        parity::Results gpu = c.run(Device::CUDA, dt);
        for (const auto& [key, t] : cpu) {
          auto it = gpu.find(key);
          if (it == gpu.end()) {
            ok = false;
            verdict += fmt::format(" [{} missing on cuda]", key);
            continue;
          }
          Comparison cmp = compare(t, it->second, tol, c.exact);
          worst_rel = std::max(worst_rel, cmp.worst_rel);
          if (!cmp.ok) {
            ok = false;
            verdict += fmt::format(" [{}: {}]", key, cmp.detail);
          }
        }
      } catch (const std::exception& e) {
        ok = false;
        verdict = fmt::format(" [threw: {}]", e.what());
      }
      fmt::print("{} {:<40} {:<4}  worst rel {:.3g}{}\n", ok ? "PASS" : "FAIL", c.name, dtype_name(dt), worst_rel,
                 verdict);
      (ok ? passed : failed)++;
    }
  }
  for (const auto& c : parity::checks()) {
    if (c.group != group) continue;
    std::string err;
    try {
      err = c.run();
    } catch (const std::exception& e) {
      err = fmt::format("threw: {}", e.what());
    }
    fmt::print("{} {}{}\n", err.empty() ? "PASS" : "FAIL", c.name, err.empty() ? "" : "  " + err);
    (err.empty() ? passed : failed)++;
  }
  fmt::print("cuda parity {}: {} passed, {} failed\n", group, passed, failed);
  return failed == 0 ? 0 : 1;
}
