#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace iapt::optim {

double Schedule::multiplier(int64_t step) const {
  if (step < warmup_steps) return static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  if (kind == "constant") return 1.0;
  const double span = static_cast<double>(std::max<int64_t>(total_steps - warmup_steps, 1));
  const double progress = std::clamp(static_cast<double>(step - warmup_steps) / span, 0.0, 1.0);
  if (kind == "linear") return 1.0 - progress;
  IAPT_CHECK(kind == "cosine", "schedule: unknown kind '{}' (constant, linear or cosine)", kind);
  return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress));
}

}  // namespace iapt::optim
