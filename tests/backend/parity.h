#pragma once
// The backend-parity harness: each case runs one op (forward and backward) on the CPU and on
// CUDA from the same inputs and compares every output and gradient, with tolerances per dtype and
// op. Cases are grouped; ctest runs one group per entry and counts a group as skipped (exit 77)
// where no GPU is present.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace iapt::parity {

struct Tolerance {
  double rtol, atol;
};

// Results by name ("out", "grad0", ...), every tensor back on the CPU.
using Results = std::map<std::string, Tensor>;

struct Case {
  std::string group;
  std::string name;
  Tolerance f32;
  Tolerance f64;
  // Runs the case on `device` in `dtype`; inputs must depend only on the case (seed them).
  std::function<Results(Device device, DType dtype)> run;
  bool exact = false;  // results must be bit-identical (random numbers, masks, copies)
  // The dtypes it runs in, and the tolerances of the 16-bit ones (cases of 16-bit activations).
  std::vector<DType> dtypes{DType::F32, DType::F64};
  Tolerance bf16{0, 0};
  Tolerance f16{0, 0};

  Tolerance tolerance(DType dt) const {
    return dt == DType::F32 ? f32 : dt == DType::F64 ? f64 : dt == DType::BF16 ? bf16 : f16;
  }
};

std::vector<Case>& registry();
// Cases that need more than a comparison of two runs (allocator behaviour): run on CUDA only.
struct Check {
  std::string group, name;
  std::function<std::string()> run;  // empty string = passed, else the failure
};
std::vector<Check>& checks();

void register_cases();

}  // namespace iapt::parity
