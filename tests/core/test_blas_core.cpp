// The test runner calls kernels::restart_if_blas_misdetects_cpu first, as every program does: on a
// CPU OpenBLAS does not recognise, the process must be running the kernels its instruction set
// allows, not the generic fallback (a 4.8x slower sgemm where it was measured).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "kernels/cpu/cpu_info.h"

TEST_CASE("cpu: OpenBLAS runs the kernels this CPU supports, not its generic fallback", "[core][blas]") {
  const std::string description = iapt::kernels::cpu::cpu_description();
  INFO(description);
  const char* chosen = std::getenv("OPENBLAS_CORETYPE");
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!avx2 || (chosen != nullptr && std::string(chosen) != "SkylakeX" && std::string(chosen) != "Haswell")) {
    SUCCEED("no AVX2, or a core chosen by hand: nothing to hold OpenBLAS to");
    return;
  }
  for (const char* generic : {"Prescott", "Core2", "Penryn", "Nehalem", "Atom"})
    CHECK(description.find(std::string("OpenBLAS ") + generic) == std::string::npos);
}
