// GPU benchmark (not a test): GEMM TFLOP/s through iapt's matmul next to cuBLAS called directly on
// the same stream, with and without TF32; and the bandwidth of the memory-bound kernels as a
// fraction of a device-to-device copy measured in the same run.
#include <cuda_runtime.h>

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <vector>

#include "autograd/functions.h"
#include "core/backend.h"
#include "core/ops.h"
#include "kernels/backends.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"

using namespace iapt;
namespace kc = iapt::kernels::cuda;

namespace {

// Mean milliseconds per call over `reps` calls after two warm-up calls, timed with events.
double time_ms(const std::function<void()>& f, int reps) {
  f();
  f();
  cudaEvent_t start, stop;
  IAPT_CUDA_CHECK(cudaEventCreate(&start));
  IAPT_CUDA_CHECK(cudaEventCreate(&stop));
  IAPT_CUDA_CHECK(cudaEventRecord(start, kc::stream()));
  for (int i = 0; i < reps; ++i) f();
  IAPT_CUDA_CHECK(cudaEventRecord(stop, kc::stream()));
  IAPT_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  IAPT_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  IAPT_CUDA_CHECK(cudaEventDestroy(start));
  IAPT_CUDA_CHECK(cudaEventDestroy(stop));
  return static_cast<double>(ms) / reps;
}

Tensor gpu_randn(const Shape& s) { return randn(s).to(Device::CUDA); }

void gemm_table() {
  fmt::print("## GEMM, f32 row-major C[M,N] = A[M,K] @ B[K,N] (B transposed where marked)\n\n");
  fmt::print("| M | N | K | transB | math | iapt TFLOP/s | cuBLAS TFLOP/s | ratio |\n|---:|---:|---:|---|---|---:|---:|---:|\n");
  struct Case {
    int64_t m, n, k;
    bool tb;
  };
  for (bool tf32 : {false, true}) {
    kc::set_allow_tf32(tf32);
    for (Case c : {Case{1024, 1024, 1024, false}, Case{4096, 4096, 4096, false}, Case{8192, 4096, 4096, true},
                   Case{8192, 11008, 4096, true}, Case{8192, 4096, 11008, true}}) {
      Tensor a = gpu_randn({c.m, c.k});
      Tensor b = c.tb ? gpu_randn({c.n, c.k}) : gpu_randn({c.k, c.n});
      Tensor out = empty({c.m, c.n}, DType::F32, Device::CUDA);
      const double flops = 2.0 * static_cast<double>(c.m) * static_cast<double>(c.n) * static_cast<double>(c.k);
      const int reps = c.m * c.n * c.k > (int64_t{1} << 34) ? 5 : 20;
      double t_iapt = time_ms([&] { out = ops::matmul(a, b, false, c.tb); }, reps);
      const float one = 1.0f, zero = 0.0f;
      double t_blas = time_ms(
          [&] {
            // the same row-major product as column-major C^T = op(B)^T A^T
            IAPT_CUBLAS_CHECK(cublasSgemm(kc::cublas(), c.tb ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, c.n, c.m, c.k,
                                          &one, b.data<float>(), c.tb ? c.k : c.n, a.data<float>(), c.k, &zero,
                                          out.data<float>(), c.n));
          },
          reps);
      fmt::print("| {} | {} | {} | {} | {} | {:.1f} | {:.1f} | {:.3f} |\n", c.m, c.n, c.k, c.tb ? "yes" : "no",
                 tf32 ? "TF32" : "FP32", flops / (t_iapt * 1e-3) * 1e-12, flops / (t_blas * 1e-3) * 1e-12,
                 t_blas / t_iapt);
    }
  }
  kc::set_allow_tf32(false);
}

void bandwidth_table() {
  const int64_t rows = 8192, cols = 4096;  // 32M f32 = 128 MiB per tensor
  const int64_t n = rows * cols;
  const double bytes1 = static_cast<double>(n) * 4;
  Tensor x = gpu_randn({rows, cols}), y = gpu_randn({rows, cols}), w = gpu_randn({cols});
  Tensor dst = empty({rows, cols}, DType::F32, Device::CUDA);
  const double t_copy = time_ms(
      [&] {
        IAPT_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), x.raw_data(), static_cast<size_t>(bytes1),
                                        cudaMemcpyDeviceToDevice, kc::stream()));
      },
      20);
  const double copy_bw = 2 * bytes1 / (t_copy * 1e-3);
  fmt::print("\n## Memory-bound kernels, f32 [{} x {}], against cudaMemcpy device-to-device ({:.0f} GB/s)\n\n", rows,
             cols, copy_bw * 1e-9);
  fmt::print("| kernel | bytes moved / element | ms | GB/s | fraction of copy |\n|---|---:|---:|---:|---:|\n");
  Tensor positions = arange(256, DType::I64).to(Device::CUDA);
  Tensor x4 = x.view({32, 32, 256, 128});
  std::vector<int64_t> target_ids(rows);
  for (int64_t i = 0; i < rows; ++i) target_ids[i] = (i * 7919) % cols;
  Tensor targets = from_ints(target_ids, {rows}).to(Device::CUDA);
  Tensor rstd = ops::rms_norm(x, w, 1e-5).rstd;
  struct K {
    const char* name;
    double bytes_per_element;
    std::function<void()> f;
  };
  Tensor keep;
  std::vector<K> kernels{
      {"add (broadcast-free)", 12, [&] { keep = ops::add(x, y); }},
      {"mul_scalar", 8, [&] { keep = ops::mul_scalar(x, 0.5); }},
      {"silu", 8, [&] { keep = ops::unary(UnaryOp::Silu, x); }},
      {"silu backward", 12, [&] { keep = ops::unary_backward(UnaryOp::Silu, x, Tensor(), y); }},
      {"transpose copy (contiguous())", 8, [&] { keep = x.view({4096, 8192}).transpose(0, 1).contiguous(); }},
      {"sum over last axis", 4, [&] { keep = ops::sum(x, {1}); }},
      {"softmax last axis", 8, [&] { keep = ops::softmax(x, 1); }},
      {"softmax backward", 12, [&] { keep = ops::softmax_backward(x, y, 1); }},
      {"rms_norm forward", 8, [&] { keep = ops::rms_norm(x, w, 1e-5).out; }},
      {"rms_norm backward (x and weight: reads x, g twice)", 20, [&] { keep = ops::rms_norm_backward(x, w, rstd, y, true).first; }},
      {"rope [32,32,256,128]", 8, [&] { keep = ops::rope(x4, positions, 10000.0); }},
      {"cross_entropy forward, 4096 classes (with the host sync of its target check)", 4,
       [&] { keep = ops::cross_entropy(x, targets, -100).loss; }},
  };
  for (auto& k : kernels) {
    const double ms = time_ms(k.f, 10);
    const double bw = k.bytes_per_element * static_cast<double>(n) / (ms * 1e-3);
    fmt::print("| {} | {:.0f} | {:.3f} | {:.0f} | {:.2f} |\n", k.name, k.bytes_per_element, ms, bw * 1e-9, bw / copy_bw);
  }
}

}  // namespace

int main(int, char** argv) {
  iapt::kernels::restart_if_blas_misdetects_cpu(argv);
  kernels::register_backends();
  if (!device_available(Device::CUDA)) {
    fmt::print("bench_cuda: no GPU visible; nothing measured\n");
    return 1;
  }
  cudaDeviceProp prop{};
  IAPT_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  fmt::print("# iapt CUDA benchmark on {} ({} SMs, {:.0f} GiB)\n\n", prop.name, prop.multiProcessorCount,
             static_cast<double>(prop.totalGlobalMem) / (1 << 30));
  gemm_table();
  bandwidth_table();
  const AllocatorStats stats = allocator_stats(Device::CUDA);
  fmt::print("\ncaching allocator: {} cudaMalloc calls, {} reuses, peak {:.0f} MiB live\n", stats.system_allocations,
             stats.hits, static_cast<double>(stats.peak_live_bytes) / (1 << 20));
  return 0;
}
