// Engine benchmark (not a test): GEMM GFLOP/s through iapt's matmul next to the same GEMM called
// on BLAS directly in this process, and the tiny-LM demo's training step time.
#include <cblas.h>

#include <algorithm>
#include <fmt/format.h>
#include <vector>

#include "core/ops.h"
#include "experiments/bench/best_seconds.h"
#include "kernels/backends.h"
#include "kernels/cpu/denormals.h"
#include "experiments/demo/tiny_lm_demo.h"

using iapt::bench::best_seconds;

int main(int, char** argv) {
  iapt::kernels::restart_if_blas_misdetects_cpu(argv);
  using namespace iapt;
  kernels::register_backends();
  kernels::cpu::flush_denormals_unless_kept();  // as the iapt command runs
  fmt::print("GEMM, f32, C[M,N] = A[M,K] @ B[K,N] (best of 5)\n");
  fmt::print("| {:>5} | {:>5} | {:>5} | {:>6} | {:>14} | {:>14} | {:>6} |\n", "M", "N", "K", "transB", "iapt GFLOP/s",
             "BLAS GFLOP/s", "ratio");
  fmt::print("|------:|------:|------:|-------:|---------------:|---------------:|-------:|\n");
  struct Case {
    int64_t m, n, k;
    bool tb;
  };
  for (Case c : {Case{256, 256, 256, false}, Case{512, 512, 512, false}, Case{1024, 1024, 1024, false},
                 Case{4096, 288, 288, true}, Case{4096, 768, 288, true}, Case{2048, 512, 512, true}}) {
    Tensor a = randn({c.m, c.k});
    Tensor b = c.tb ? randn({c.n, c.k}) : randn({c.k, c.n});
    Tensor out = empty({c.m, c.n});
    const double flops = 2.0 * static_cast<double>(c.m * c.n * c.k);
    const int reps = 5;
    double t_iapt = best_seconds([&] { out = ops::matmul(a, b, false, c.tb); }, reps);
    double t_blas = best_seconds(
        [&] {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, c.tb ? CblasTrans : CblasNoTrans, c.m, c.n, c.k, 1.0f,
                      a.data<float>(), c.k, b.data<float>(), c.tb ? c.k : c.n, 0.0f, out.data<float>(), c.n);
        },
        reps);
    fmt::print("| {:>5} | {:>5} | {:>5} | {:>6} | {:>14.1f} | {:>14.1f} | {:>6.3f} |\n", c.m, c.n, c.k,
               c.tb ? "yes" : "no", flops / t_iapt * 1e-9, flops / t_blas * 1e-9, t_blas / t_iapt);
  }

  // A frozen 16-bit weight against the same weight in f32: what keeping a backbone in bf16 costs or
  // saves per projection (M 1: one generated token; M 1024: a training batch).
  fmt::print("\nGEMM with a bf16 weight, C[M,N] = A[M,K] @ W[N,K]^T, f32 activations (best of 5)\n");
  // "iapt": gemm_16bit (in registers up to 16 rows, panels beyond); "whole": widened to f32 first
  fmt::print("| {:>5} | {:>5} | {:>5} | {:>13} | {:>15} | {:>16} | {:>13} |\n", "M", "N", "K", "f32 W GFLOP/s",
             "bf16 W, iapt", "bf16 W, whole", "iapt bf16/f32");
  fmt::print("|------:|------:|------:|--------------:|----------------:|-----------------:|--------------:|\n");
  for (Case c : {Case{1, 4096, 4096, true}, Case{16, 11008, 4096, true}, Case{32, 11008, 4096, true},
                 Case{64, 11008, 4096, true}, Case{1024, 4096, 4096, true},
                 Case{1024, 768, 288, true}}) {
    Tensor a = randn({c.m, c.k});
    Tensor w32 = randn({c.n, c.k});
    Tensor w16 = w32.to(DType::BF16);
    Tensor out;
    const double flops = 2.0 * static_cast<double>(c.m * c.n * c.k);
    const int reps = 5;
    double t_f32 = best_seconds([&] { out = ops::matmul(a, w32, false, true); }, reps);
    double t_iapt = best_seconds([&] { out = ops::matmul(a, w16, false, true); }, reps);
    double t_whole = best_seconds([&] { out = ops::matmul(a, w16.to(DType::F32), false, true); }, reps);
    fmt::print("| {:>5} | {:>5} | {:>5} | {:>13.1f} | {:>15.1f} | {:>16.1f} | {:>13.3f} |\n", c.m, c.n, c.k,
               flops / t_f32 * 1e-9, flops / t_iapt * 1e-9, flops / t_whole * 1e-9, t_f32 / t_iapt);
  }

  fmt::print("\nbatched GEMM, f32, C[b] = A[b] @ B[b]^T (attention scores; BLAS baseline loops over b)\n");
  fmt::print("| {:>5} | {:>5} | {:>5} | {:>5} | {:>14} | {:>14} | {:>6} |\n", "batch", "M", "N", "K", "iapt GFLOP/s",
             "BLAS GFLOP/s", "ratio");
  fmt::print("|------:|------:|------:|------:|---------------:|---------------:|-------:|\n");
  for (Case c : {Case{256, 256, 64, true}, Case{256, 256, 32, true}}) {
    const int64_t batch = 64;
    Tensor a = randn({batch, c.m, c.k}), b = randn({batch, c.n, c.k});
    Tensor out = empty({batch, c.m, c.n});
    const double flops = 2.0 * static_cast<double>(batch * c.m * c.n * c.k);
    double t_iapt = best_seconds([&] { out = ops::matmul(a, b, false, true); }, 5);
    double t_blas = best_seconds(
        [&] {
          for (int64_t i = 0; i < batch; ++i)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c.m, c.n, c.k, 1.0f, a.data<float>() + i * c.m * c.k,
                        c.k, b.data<float>() + i * c.n * c.k, c.k, 0.0f, out.data<float>() + i * c.m * c.n, c.n);
        },
        5);
    fmt::print("| {:>5} | {:>5} | {:>5} | {:>5} | {:>14.1f} | {:>14.1f} | {:>6.3f} |\n", batch, c.m, c.n, c.k,
               flops / t_iapt * 1e-9, flops / t_blas * 1e-9, t_blas / t_iapt);
  }

  demo::TinyLmOptions o;
  o.steps = 50;
  auto r = demo::train_tiny_lm(o);
  fmt::print("\ntiny-LM demo step (forward + backward + AdamW), batch {} x sequence {}: {:.2f} ms mean over {} "
             "steps, {:.0f} tokens/s\n",
             o.batch, 2 * o.half_length, r.mean_step_ms, o.steps,
             static_cast<double>(o.batch * 2 * o.half_length) / (r.mean_step_ms * 1e-3));
  return 0;
}
