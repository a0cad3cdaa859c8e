#include "tests/kernel_recorder.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

#include "core/backend.h"

namespace iapt::testing {

namespace {

struct Record {
  std::mutex mutex;
  std::set<std::string> called;
  std::string path;
};

Record& record() {
  static Record* r = new Record;  // outlives every static destructor that might still run kernels
  return *r;
}

void note(const char* kernel) {
  std::lock_guard<std::mutex> lock(record().mutex);
  record().called.insert(kernel);
}

const Backend*& real() {
  static const Backend* table = nullptr;
  return table;
}

void write_record() {
  Record& r = record();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (FILE* f = std::fopen(r.path.c_str(), "w")) {
    for (const auto& name : r.called) std::fprintf(f, "%s\n", name.c_str());
    std::fclose(f);
  }
}

// The CPU table with every kernel entry wrapped; the memory entries stay as they are. A
// captureless generic lambda converts to the entry's function pointer type, its parameters
// deduced from that type.
Backend recording_table(const Backend& cpu) {
  Backend t = cpu;
#define IAPT_KERNEL(kernel, parameters)        \
  t.kernel = [](auto... arguments) {           \
    note(#kernel);                             \
    real()->kernel(arguments...);              \
  };
#define IAPT_FUSED_KERNEL(kernel, parameters) \
  if (cpu.kernel != nullptr) IAPT_KERNEL(kernel, parameters)
#include "core/backend_kernels.inc"
#undef IAPT_KERNEL
#undef IAPT_FUSED_KERNEL
  return t;
}

}  // namespace

void record_kernels_if_asked() {
  const char* path = std::getenv("IAPT_KERNEL_RECORD");
  if (path == nullptr || *path == '\0' || real() != nullptr) return;
  record().path = path;
  real() = &backend_for(Device::CPU);
  static const Backend table = recording_table(*real());
  register_backend(Device::CPU, table);
  std::atexit(write_record);
}

}  // namespace iapt::testing
