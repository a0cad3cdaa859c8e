#include "kernels/cpu/cpu_info.h"

#include <fstream>

#include "kernels/cpu/blas.h"

namespace iapt::kernels::cpu {

std::string cpu_description() {
  std::string model = "unknown CPU";
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("model name")) {
      const size_t start = line.find_first_not_of(" \t", line.find(':') + 1);
      if (line.find(':') != std::string::npos && start != std::string::npos) model = line.substr(start);
      break;
    }
  return model + "; OpenBLAS " + blas_core();
}

std::string blas_core() { return openblas_get_corename(); }

}  // namespace iapt::kernels::cpu
