#pragma once
// Checks on numeric options whose messages read as a person would write them. CLI11's own ranges
// print their bounds through std::to_string of a double ("not in range 0.000000 to 179769...",
// 309 digits for "positive").
#include <CLI/CLI.hpp>
#include <cstdint>

namespace iapt::cli {

// The largest count an option takes: far above any real use, far below an overflow.
inline constexpr int64_t kMaxCount = int64_t{1} << 40;

CLI::Validator positive_number();                            // a number above 0
CLI::Validator integer_between(int64_t low, int64_t high);  // an integer in [low, high]

}  // namespace iapt::cli
