#pragma once
// Finding values that are NaN or infinite before they are saved or resumed.
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "core/tensor.h"

namespace iapt::run {

// The name of the first tensor holding a NaN or an infinity, with that value; nothing if all are finite.
std::optional<std::pair<std::string, double>> first_nonfinite(const std::map<std::string, Tensor>& tensors);

// A number as a message shows it: NaN as "nan", whatever its sign bit ("-nan" reads as a different value).
std::string show_number(double v);

}  // namespace iapt::run
