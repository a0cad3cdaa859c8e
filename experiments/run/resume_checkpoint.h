#pragma once
// Reading a run's resume checkpoint (last/state.safetensors) with suspicion: it is resumed only if
// it was made under the same config and on the same data, holds everything it listed, holds finite
// values only, and its step counters make sense. Each refusal says why and how to start over.
#include <cstdint>
#include <string>

#include "core/safetensors.h"

namespace iapt::run {

struct CheckpointReader {
  // "1": the metadata holds format, config, data and tensors. Checkpoints written before it (no
  // format) are read without the fingerprint and count checks.
  static constexpr const char* kFormat = "1";

  const SafetensorsFile& file;
  std::string path;     // of the checkpoint, for messages
  std::string run_dir;  // whose last/ folder a fresh start would remove

  // The format, the config and data fingerprints, the tensor count, and every tensor finite.
  void check_matches(const std::string& config_fingerprint, const std::string& data_fingerprint) const;
  // A metadata value as an integer in [lo, hi].
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const;
  // A metadata value as an unsigned 64-bit integer (the random generator's seed and offset).
  uint64_t unsigned_integer(const std::string& key) const;
  // A metadata value as a number (NaN and infinities included: a skipped step's loss may be one).
  double number(const std::string& key) const;

 private:
  const std::string& value(const std::string& key) const;
};

}  // namespace iapt::run
