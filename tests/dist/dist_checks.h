#pragma once
// What the MPI checks share: their skip (exit 77) where the build has no MPI, and the normwise
// relative difference they bound.
#include <cmath>
#include <fmt/format.h>
#include <vector>

#include "optim/communicator.h"

namespace iapt::testing {

// True (and says so) where this build has no MPI: the check then exits 77, which ctest counts as
// skipped.
inline bool skip_without_mpi(const char* check) {
  if (iapt::optim::Communicator::built_with_mpi()) return false;
  fmt::print("SKIPPED {}: this build has no MPI (install Open MPI: scripts/install-deps.sh)\n", check);
  return true;
}

// |got - want| / |want| over all values (absolute where want is all zero).
inline double normwise_relative(const std::vector<double>& want, const std::vector<double>& got) {
  double d = 0, n = 0;
  for (size_t i = 0; i < want.size(); ++i) d += (want[i] - got[i]) * (want[i] - got[i]), n += want[i] * want[i];
  return n > 0 ? std::sqrt(d / n) : std::sqrt(d);
}

}  // namespace iapt::testing
