#pragma once
// A run's resume checkpoint (last/state.safetensors): the tensors (weights, optimizer state), where
// the run is (Progress), and the random generator. Read with suspicion: it is resumed only if it
// was made under the same config and on the same data, holds everything it listed, holds finite
// values only, and its step counters make sense. Each refusal says why and how to start over.
#include <cstdint>
#include <map>
#include <string>

#include "core/safetensors.h"

namespace iapt::run {

// Where a run is, besides its tensors.
struct Progress {
  int64_t next_step = 0;        // the first step still to train (the run's steps once it stopped early)
  int64_t trained_steps = 0;    // differs from next_step when early stopping ended the run
  int64_t best_step = 0;
  int64_t bad_evals = 0;        // evaluations since the best one, for early stopping
  int64_t nonfinite_steps = 0;  // passed over for a NaN or infinite loss
  double best = -1e300;         // the best dev metric so far
  double final_loss = 0;        // the last step's training loss
};

// Writes the checkpoint (through a temporary file, as every safetensors save) with the
// fingerprints a resume must match and the default generator's position.
void save_checkpoint(const std::string& path, const std::map<std::string, Tensor>& tensors, const Progress& progress,
                     const std::string& config_fingerprint, const std::string& data_fingerprint);

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
  // The progress it recorded, each counter checked against the run's `steps`; restores the default
  // random generator to where it was.
  Progress restore_progress(int64_t steps) const;

 private:
  const std::string& value(const std::string& key) const;
};

}  // namespace iapt::run
