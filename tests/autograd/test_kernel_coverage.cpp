// Every kernel in core/backend_kernels.inc is exercised by an f64 gradcheck and by a CUDA parity
// case, so a kernel added to the list without either fails here, by name. Each test runs the
// cases in a child process with IAPT_KERNEL_RECORD set (tests/kernel_recorder.h) and reads back
// the names of the kernels they called.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <unistd.h>

#include "core/backend.h"

using namespace iapt;

namespace {

// The kernels a command called, run with the recorder on.
std::set<std::string> kernels_called_by(const std::string& command) {
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("iapt-kernel-record-" + std::to_string(::getpid()));
  std::filesystem::remove(file);
  const std::string line = fmt::format("IAPT_KERNEL_RECORD='{}' {} > /dev/null", file.string(), command);
  const int status = std::system(line.c_str());
  INFO(line);
  REQUIRE(status == 0);
  std::set<std::string> called;
  std::ifstream in(file);
  for (std::string name; std::getline(in, name);) called.insert(name);
  std::filesystem::remove(file);
  return called;
}

std::string self() { return std::filesystem::read_symlink("/proc/self/exe").string(); }  // this test binary

}  // namespace

TEST_CASE("kernels: every kernel in the list has an f64 gradcheck", "[gradcheck-coverage]") {
  // Kernels with no gradient to check, and where their behaviour is tested instead.
  const std::map<std::string, std::string> no_gradient{
      {"fill", "writes a constant (tests/core/test_tensor.cpp)"},
      {"uniform", "a random draw (tests/core/test_rng.cpp)"},
      {"normal", "a random draw (tests/core/test_rng.cpp)"},
      {"adam_step", "an optimizer step (tests/optim/test_optimizers.cpp)"},
  };
  const std::set<std::string> called = kernels_called_by(fmt::format("'{}' '[gradcheck]'", self()));
  for (const KernelName& k : backend_kernel_names()) {
    if (no_gradient.count(k.name)) continue;
    INFO("kernel '" << k.name << "': no [gradcheck] test case calls it on the CPU");
    CHECK(called.count(k.name) == 1);
  }
}

TEST_CASE("kernels: every kernel in the list has a CUDA parity case", "[parity-coverage]") {
  const std::set<std::string> called = kernels_called_by(fmt::format("'{}' --cpu-only", IAPT_PARITY));
  for (const KernelName& k : backend_kernel_names()) {
    INFO("kernel '" << k.name << "': no case in tests/backend/parity_cases.cpp calls it");
    CHECK(called.count(k.name) == 1);
  }
}
