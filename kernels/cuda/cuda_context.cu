#include <cstdlib>
#include <mutex>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"

namespace iapt::kernels::cuda {

namespace {

struct Context {
  cudaStream_t stream = nullptr;
  cublasHandle_t handle = nullptr;
  bool tf32 = false;
};

Context& context() {
  static Context* ctx = [] {
    auto* c = new Context();  // never destroyed: the driver may be torn down before static destructors run
    IAPT_CUDA_CHECK(cudaSetDevice(device()));
    IAPT_CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    IAPT_CUBLAS_CHECK(cublasCreate(&c->handle));
    IAPT_CUBLAS_CHECK(cublasSetStream(c->handle, c->stream));
    const char* env = std::getenv("IAPT_TF32");
    c->tf32 = env && env[0] == '1';
    IAPT_CUBLAS_CHECK(cublasSetMathMode(c->handle, c->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    return c;
  }();
  return *ctx;
}

}  // namespace

int visible_device_count() {
  static const int count = [] {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
  }();
  return count;
}

int device() {
  // Each of a node's ranks takes its own GPU where there are enough (a launcher that gives each
  // rank one GPU through CUDA_VISIBLE_DEVICES leaves one visible: device 0); one process: device 0.
  static const int d = [] {
    int local_rank = 0;
    for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "PMI_LOCAL_RANK"})
      if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
        local_rank = std::atoi(v);
        break;
      }
    return visible_device_count() > 0 ? local_rank % visible_device_count() : 0;
  }();
  return d;
}

cudaStream_t stream() { return context().stream; }
cublasHandle_t cublas() { return context().handle; }

void set_allow_tf32(bool on) {
  Context& c = context();
  c.tf32 = on;
  IAPT_CUBLAS_CHECK(cublasSetMathMode(c.handle, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

bool allow_tf32() { return context().tf32; }

void synchronize() { IAPT_CUDA_CHECK(cudaStreamSynchronize(stream())); }

bool sync_after_launch() {
  static const bool on = [] {
    const char* env = std::getenv("IAPT_CUDA_SYNC");
    return env && env[0] == '1';
  }();
  return on;
}

void check_launch(const char* kernel_name, const char* file, int line) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess && sync_after_launch()) err = cudaStreamSynchronize(stream());
  if (err != cudaSuccess)
    throw Error(fmt::format("{}:{}: launch of {} failed: {} ({})", file, line, kernel_name, cudaGetErrorName(err),
                            cudaGetErrorString(err)));
}

}  // namespace iapt::kernels::cuda
