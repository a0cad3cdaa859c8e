#pragma once
// Learning-rate schedules as a multiplier of each group's rate, by step (0-based):
//   constant: 1 (after the warm-up)
//   linear:   (s + 1) / warmup during warm-up, then a straight line to 0 at total_steps
//   cosine:   the same warm-up, then min_ratio + (1 - min_ratio) (1 + cos(pi progress)) / 2
#include <cstdint>
#include <string>

namespace iapt::optim {

struct Schedule {
  std::string kind = "linear";  // constant, linear or cosine
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_ratio = 0.0;  // cosine's floor

  double multiplier(int64_t step) const;
};

}  // namespace iapt::optim
