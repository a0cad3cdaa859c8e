#include "experiments/run/resume_checkpoint.h"

#include <charconv>
#include <cstdlib>
#include <limits>

#include "core/error.h"
#include "experiments/run/finite.h"

namespace iapt::run {

namespace {
std::string start_over(const std::string& run_dir) {
  return fmt::format("remove {}/last to start the run over", run_dir);
}
}  // namespace

const std::string& CheckpointReader::value(const std::string& key) const {
  auto it = file.metadata.find(key);
  IAPT_CHECK(it != file.metadata.end(), "{}: the checkpoint has no '{}'; it is incomplete ({})", path, key,
             start_over(run_dir));
  return it->second;
}

void CheckpointReader::check_matches(const std::string& config_fingerprint, const std::string& data_fingerprint) const {
  auto format = file.metadata.find("format");
  if (format != file.metadata.end()) {
    IAPT_CHECK(format->second == kFormat, "{}: checkpoint format '{}' is not one this iapt reads (it reads '{}'; {})",
               path, format->second, kFormat, start_over(run_dir));
    IAPT_CHECK(value("config") == config_fingerprint,
               "{}: the checkpoint was made under another config (fingerprint {}, this config's {}): resume with the "
               "config it was made with, or {}",
               path, value("config"), config_fingerprint, start_over(run_dir));
    IAPT_CHECK(value("data") == data_fingerprint,
               "{}: the checkpoint was made on other data (fingerprint {}, now {}): the task's files or its split "
               "changed; {}",
               path, value("data"), data_fingerprint, start_over(run_dir));
    const int64_t listed = integer("tensors", 0, std::numeric_limits<int64_t>::max());
    IAPT_CHECK(static_cast<int64_t>(file.tensors.size()) == listed,
               "{}: the checkpoint holds {} tensors of the {} it listed; it is incomplete ({})", path,
               file.tensors.size(), listed, start_over(run_dir));
  }
  if (const auto bad = first_nonfinite(file.tensors))
    throw Error(fmt::format("{}: tensor {} holds {}; a checkpoint with values that are not finite is not resumed ({})",
                            path, bad->first, show_number(bad->second), start_over(run_dir)));
}

int64_t CheckpointReader::integer(const std::string& key, int64_t lo, int64_t hi) const {
  const std::string& text = value(key);
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  IAPT_CHECK(ec == std::errc() && end == text.data() + text.size() && v >= lo && v <= hi,
             "{}: the checkpoint's {} is '{}', not an integer from {} to {}; it is damaged ({})", path, key, text, lo,
             hi, start_over(run_dir));
  return v;
}

uint64_t CheckpointReader::unsigned_integer(const std::string& key) const {
  const std::string& text = value(key);
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  IAPT_CHECK(ec == std::errc() && end == text.data() + text.size(),
             "{}: the checkpoint's {} is '{}', not an unsigned integer; it is damaged ({})", path, key, text,
             start_over(run_dir));
  return v;
}

double CheckpointReader::number(const std::string& key) const {
  const std::string& text = value(key);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  IAPT_CHECK(!text.empty() && end == text.c_str() + text.size(), "{}: the checkpoint's {} is '{}', not a number; it is "
                                                                 "damaged ({})",
             path, key, text, start_over(run_dir));
  return v;
}

}  // namespace iapt::run
