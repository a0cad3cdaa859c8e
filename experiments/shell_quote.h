#pragma once
// A word for a POSIX shell: in single quotes, each ' written '\'' (for the SLURM scripts and the
// command line a run folder records).
#include <string>

namespace iapt {

inline std::string single_quoted(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace iapt
