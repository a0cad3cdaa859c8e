// The process's command line, kept for the run folders' record of what started them.
#include <string>

#include "experiments/cli/commands.h"
#include "experiments/shell_quote.h"

namespace iapt::cli {

namespace {

std::string& stored() {
  static std::string line;
  return line;
}

// A word as a shell takes it back: as it is when it holds nothing a shell reads specially, else in
// single quotes.
std::string shell_word(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                              "0123456789_./=:,@+-%") == std::string::npos;
  return plain ? word : single_quoted(word);
}

}  // namespace

void set_command_line(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) line += (i ? " " : "") + shell_word(argv[i]);
  stored() = line;
}

const std::string& command_line() { return stored(); }

}  // namespace iapt::cli
