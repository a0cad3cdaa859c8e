#pragma once
// The one exception type of the engine; messages name the op and the offending shapes or keys.
#include <stdexcept>
#include <string>

namespace iapt {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

#define IAPT_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) throw ::iapt::Error(::fmt::format(__VA_ARGS__));              \
  } while (0)

}  // namespace iapt

#include <fmt/format.h>
#include <fmt/ranges.h>
