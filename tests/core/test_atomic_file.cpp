#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

using namespace iapt;
namespace fs = std::filesystem;

namespace {
std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TEST_CASE("atomic file: a full disk is an error with its reason, keeps the old file and leaves no .tmp",
          "[core][atomic_file]") {
  if (!fs::exists("/dev/full")) {
    WARN("/dev/full is absent: the full-disk case is not checked here");
    return;
  }
  const fs::path dir = fs::temp_directory_path() / "iapt_tests" / "atomic";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path file = dir / "summary.json";
  write_text_atomically(file.string(), "old\n");
  REQUIRE(read_text(file) == "old\n");
  // PATH.tmp leads to /dev/full, where every write fails with ENOSPC, as on a full disk
  fs::create_symlink("/dev/full", dir / "summary.json.tmp");
  CHECK_THROWS_WITH(write_text_atomically(file.string(), std::string(1 << 16, 'x')),
                    Catch::Contains("summary.json.tmp: write failed: No space left on device"));
  CHECK(read_text(file) == "old\n");
  CHECK_FALSE(fs::exists(fs::symlink_status(dir / "summary.json.tmp")));
  // an exception from the writer itself also removes the temporary file
  CHECK_THROWS_WITH(write_file_atomically(file.string(), [](std::ostream& out) {
                      out << "half";
                      throw Error("the writer gave up");
                    }),
                    Catch::Contains("the writer gave up"));
  CHECK(read_text(file) == "old\n");
  CHECK_FALSE(fs::exists(dir / "summary.json.tmp"));
  // a folder that is not there: the reason is named
  CHECK_THROWS_WITH(write_text_atomically((dir / "no" / "such" / "x.json").string(), "x"),
                    Catch::Contains("x.json.tmp: cannot open for writing: No such file or directory"));
}
