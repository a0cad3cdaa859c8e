#include "experiments/run/finite.h"

#include <cmath>
#include <fmt/format.h>

namespace iapt::run {

std::optional<std::pair<std::string, double>> first_nonfinite(const std::map<std::string, Tensor>& tensors) {
  for (const auto& [name, t] : tensors)
    for (double v : t.to_vector())
      if (!std::isfinite(v)) return std::make_pair(name, v);
  return std::nullopt;
}

std::string show_number(double v) { return std::isnan(v) ? "nan" : fmt::format("{}", v); }

}  // namespace iapt::run
