#pragma once
// What the fuzz targets share: the parsers under test read files, so each input is written to a
// file of this process's own first; and the one outcome allowed besides success is iapt::Error
// (a message naming the place). Any other exception escapes and libFuzzer reports it as a crash,
// since a library's exception reaching the user is a defect here.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "core/error.h"
#include "kernels/backends.h"

namespace iapt::fuzz {

// A file holding `data`, named by `suffix` (readers choose by extension), in a folder of this
// process's own under TMPDIR (or /tmp) where `fixtures` links to the test fixtures, so that
// relative paths in an input (a config's backbone.path: fixtures/llama-gqa) reach real files.
inline std::string write_input(const uint8_t* data, size_t size, const std::string& suffix) {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    const std::filesystem::path d = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") / ("iapt-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::error_code ignored;  // already there from an earlier process of the same id
    std::filesystem::create_directory_symlink(IAPT_FIXTURE_DIR, d / "fixtures", ignored);
    return d;
  }();
  const std::string path = (dir / ("input" + suffix)).string();
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return path;
}

// Runs `parse`; iapt::Error is an accepted outcome (the input was bad and said so).
template <class F>
void expect_parsed_or_error(F&& parse) {
  try {
    parse();
  } catch (const iapt::Error&) {
  }
}

}  // namespace iapt::fuzz

// libFuzzer calls it once before the first input: the backends every parser's tensors need.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  iapt::kernels::register_backends();
  return 0;
}
