// OpenBLAS chooses its kernels once, as it loads, from the CPU's family and model number. A CPU
// newer than the library (Debian's 0.3.21 does not know Emerald Rapids, family 6 model 207) falls
// back to Prescott's SSE3 kernels: there sgemm ran at 33 GFLOP/s on one core against 160 with the
// SkylakeX kernels its AVX-512 allows. The library reads OPENBLAS_CORETYPE only at load time, so a
// program restarts itself once with the core its instruction set supports.
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#include "kernels/backends.h"
#include "kernels/cpu/blas.h"

namespace iapt::kernels {

namespace {

// The OpenBLAS cores that run on any x86-64 it does not recognise: older than what we ask for.
bool is_fallback_core(std::string_view name) {
  return name == "Prescott" || name == "Core2" || name == "Penryn" || name == "Dunnington" || name == "Nehalem" ||
         name == "Atom" || name == "Katmai" || name == "Coppermine" || name == "Northwood" || name == "Banias";
}

const char* supported_core() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

}  // namespace

void restart_if_blas_misdetects_cpu(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // chosen by the user, or already restarted
  const char* core = supported_core();
  if (core == nullptr || !is_fallback_core(openblas_get_corename())) return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  execv("/proc/self/exe", argv);
  // exec failed (no /proc): run on as loaded; the environment still helps child processes
}

}  // namespace iapt::kernels
