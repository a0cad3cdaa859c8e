#include "experiments/run/json_file.h"

#include <fstream>

#include "core/error.h"

namespace iapt::run {

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  IAPT_CHECK(in.good(), "cannot read {}", file.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number past double
    throw Error(fmt::format("{}: not valid JSON ({})", file.string(), e.what()));
  }
}

}  // namespace iapt::run
