#include "experiments/run/resume_checkpoint.h"

#include <charconv>
#include <cstdlib>
#include <limits>

#include "core/error.h"
#include "core/rng.h"
#include "experiments/run/finite.h"

namespace iapt::run {

namespace {
std::string start_over(const std::string& run_dir) {
  return fmt::format("remove {}/last to start the run over", run_dir);
}
}  // namespace

void save_checkpoint(const std::string& path, const std::map<std::string, Tensor>& tensors, const Progress& p,
                     const std::string& config_fingerprint, const std::string& data_fingerprint) {
  save_safetensors(path, tensors,
                   {{"format", CheckpointReader::kFormat},
                    {"config", config_fingerprint},
                    {"data", data_fingerprint},
                    {"tensors", std::to_string(tensors.size())},
                    {"next_step", std::to_string(p.next_step)},
                    {"best", fmt::format("{:.17g}", p.best)},
                    {"best_step", std::to_string(p.best_step)},
                    {"bad_evals", std::to_string(p.bad_evals)},
                    {"final_loss", fmt::format("{:.17g}", p.final_loss)},
                    {"trained_steps", std::to_string(p.trained_steps)},
                    {"nonfinite_steps", std::to_string(p.nonfinite_steps)},
                    {"rng_seed", std::to_string(default_generator().seed())},
                    {"rng_offset", std::to_string(default_generator().offset())}});
}

Progress CheckpointReader::restore_progress(int64_t steps) const {
  Progress p;
  p.next_step = integer("next_step", 0, steps);
  p.final_loss = number("final_loss");
  p.trained_steps = integer("trained_steps", 0, p.next_step);
  p.best = number("best");
  p.best_step = integer("best_step", 0, p.trained_steps);
  if (file.metadata.count("nonfinite_steps")) p.nonfinite_steps = integer("nonfinite_steps", 0, p.trained_steps);
  p.bad_evals = integer("bad_evals", 0, std::numeric_limits<int64_t>::max());
  default_generator().manual_seed(unsigned_integer("rng_seed"));
  default_generator().take(unsigned_integer("rng_offset"));
  return p;
}

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
