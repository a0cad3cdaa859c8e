#include "experiments/cli/validators.h"

#include <cmath>
#include <fmt/format.h>

namespace iapt::cli {

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        double v = 0;
        if (CLI::detail::lexical_cast(input, v) && std::isfinite(v) && v > 0) return {};
        return fmt::format("expected a number above 0, got '{}'", input);
      },
      "POSITIVE");
}

CLI::Validator integer_between(int64_t low, int64_t high) {
  return CLI::Validator(
      [low, high](std::string& input) -> std::string {
        int64_t v = 0;
        if (CLI::detail::lexical_cast(input, v) && v >= low && v <= high) return {};
        return fmt::format("expected an integer from {} to {}, got '{}'", low, high, input);
      },
      fmt::format("INT in [{}, {}]", low, high));
}

}  // namespace iapt::cli
