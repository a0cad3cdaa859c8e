// Products with a bf16 weight: iapt's kernels against oneDNN (Debian's libdnnl, the CPU
// counterpart of cuDNN), as candidates for the CPU's 16-bit GEMM. Built only where CMake finds
// oneDNN (libdnnl-dev); a benchmark, not a dependency. For each shape C[M,N] = A[M,K] @ W[N,K]^T
// with A f32, it times (best of 5, GFLOP/s):
//   - iapt, f32 W: ops::matmul on OpenBLAS's sgemm;
//   - iapt, bf16 W: ops::matmul with the weight kept bf16 (registers up to 16 rows, panels beyond);
//   - oneDNN f32: its own f32 matmul;
//   - oneDNN bf16: A converted to bf16 by oneDNN in each call (as autocast does), then bf16 x bf16
//     with f32 results: the path that runs on AVX-512 BF16 or AMX where the CPU has them;
//   - oneDNN f32 x bf16: A kept f32 against the bf16 weight, where this oneDNN accepts the mix.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <optional>

#include "core/ops.h"
#include "experiments/bench/best_seconds.h"
#include "core/rng.h"
#include "kernels/backends.h"
#include "kernels/cpu/denormals.h"

using namespace iapt;

namespace {

using iapt::bench::best_seconds;

using dt = dnnl::memory::data_type;

// A oneDNN matmul A[M,K] (src_type) x W^T with W stored [N,K] row-major (weights "ba"), f32 out;
// the timed call includes A's conversion to src_type where it differs from f32. nullopt where
// this oneDNN has no implementation for the types.
std::optional<double> onednn_seconds(dnnl::engine& eng, dnnl::stream& s, int64_t m, int64_t n, int64_t k,
                                     dt src_type, dt wei_type, const Tensor& a, const Tensor& w32) {
  using tag = dnnl::memory::format_tag;
  dnnl::memory::desc a_f32({m, k}, dt::f32, tag::ab), a_md({m, k}, src_type, tag::ab);
  dnnl::memory::desc w_f32({k, n}, dt::f32, tag::ba), w_md({k, n}, wei_type, tag::ba);
  dnnl::memory::desc c_md({m, n}, dt::f32, tag::ab);
  dnnl::matmul::primitive_desc pd;
  try {
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, w_md, c_md), eng);
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
  dnnl::memory a_user(a_f32, eng, const_cast<float*>(a.data<float>())), w_user(w_f32, eng,
                                                                                const_cast<float*>(w32.data<float>()));
  dnnl::memory a_mem(a_md, eng), w_mem(w_md, eng), c_mem(c_md, eng);
  dnnl::reorder(w_user, w_mem).execute(s, w_user, w_mem);  // the weight is stored in its type once
  dnnl::matmul mm(pd);
  auto call = [&] {
    if (src_type != dt::f32) dnnl::reorder(a_user, a_mem).execute(s, a_user, a_mem);
    mm.execute(s, {{DNNL_ARG_SRC, src_type == dt::f32 ? a_user : a_mem}, {DNNL_ARG_WEIGHTS, w_mem},
                   {DNNL_ARG_DST, c_mem}});
    s.wait();
  };
  return best_seconds(call, 5);
}

}  // namespace

int main(int, char** argv) {
  kernels::restart_if_blas_misdetects_cpu(argv);
  kernels::register_backends();
  kernels::cpu::flush_denormals_unless_kept();
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  fmt::print("C[M,N] = A[M,K] @ W[N,K]^T, A f32, GFLOP/s (best of 5); oneDNN {}.{}.{}\n", dnnl_version()->major,
             dnnl_version()->minor, dnnl_version()->patch);
  fmt::print("| M | N | K | iapt, f32 W | iapt, bf16 W | oneDNN f32 | oneDNN bf16 (A converted) | oneDNN f32 A x bf16 W |\n");
  fmt::print("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  struct Case {
    int64_t m, n, k;
  };
  for (Case c : {Case{1, 4096, 4096}, Case{16, 11008, 4096}, Case{64, 11008, 4096}, Case{1024, 4096, 4096}}) {
    manual_seed(1);
    const Tensor a = randn({c.m, c.k}), w32 = randn({c.n, c.k}), w16 = w32.to(DType::BF16);
    Tensor out;
    const double flops = 2.0 * static_cast<double>(c.m * c.n * c.k);
    const double ours32 = best_seconds([&] { out = ops::matmul(a, w32, false, true); }, 5);
    const double ours16 = best_seconds([&] { out = ops::matmul(a, w16, false, true); }, 5);
    auto rate = [&](std::optional<double> t) { return t ? fmt::format("{:.1f}", flops / *t * 1e-9) : std::string("no implementation"); };
    fmt::print("| {} | {} | {} | {:.1f} | {:.1f} | {} | {} | {} |\n", c.m, c.n, c.k, flops / ours32 * 1e-9,
               flops / ours16 * 1e-9, rate(onednn_seconds(eng, s, c.m, c.n, c.k, dt::f32, dt::f32, a, w32)),
               rate(onednn_seconds(eng, s, c.m, c.n, c.k, dt::bf16, dt::bf16, a, w32)),
               rate(onednn_seconds(eng, s, c.m, c.n, c.k, dt::f32, dt::bf16, a, w32)));
  }
  return 0;
}
