#pragma once
// Checks on numeric options whose messages read as a person would write them. CLI11's own ranges
// print their bounds through std::to_string of a double ("not in range 0.000000 to 179769...",
// 309 digits for "positive").
#include <CLI/CLI.hpp>
#include <cstdint>

#include "experiments/config/yaml_reader.h"

namespace iapt::cli {

using config::kMaxCount;  // the largest count an option takes, as in configs

CLI::Validator positive_number();                            // a number above 0
CLI::Validator integer_between(int64_t low, int64_t high);  // an integer in [low, high]

}  // namespace iapt::cli
