#pragma once
// Fingerprints a resume checkpoint carries, so that a run resumes only under the config and on the
// data it was started with.
#include <string>

#include "experiments/tasks/example.h"

namespace iapt::run {

// FNV-1a, 64 bits, as 16 hex digits: a check against mix-ups, not against tampering.
std::string fingerprint(const std::string& bytes);

// A run config's YAML text without output_dir, which says where the run's folder is (it moves when
// a repository is cloned elsewhere), not how the run was made.
std::string config_without_location(const std::string& yaml);

// Of a resolved run config (its YAML text), output_dir aside.
std::string config_fingerprint(const std::string& resolved_yaml);

// Of the split: every example's instruction and response, in order, train then dev then test.
std::string data_fingerprint(const tasks::Splits& splits);

}  // namespace iapt::run
