#include "experiments/run/fingerprint.h"

#include <cstdint>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace iapt::run {

namespace {

struct Fnv1a {
  uint64_t h = 14695981039346656037ull;
  void add(const std::string& bytes) {
    for (unsigned char b : bytes) h = (h ^ b) * 1099511628211ull;
  }
  std::string hex() const { return fmt::format("{:016x}", h); }
};

}  // namespace

std::string fingerprint(const std::string& bytes) {
  Fnv1a f;
  f.add(bytes);
  return f.hex();
}

std::string config_without_location(const std::string& yaml) {
  YAML::Node n = YAML::Load(yaml);
  if (n.IsMap()) n.remove("output_dir");
  YAML::Emitter e;
  e << n;
  return e.c_str();
}

std::string config_fingerprint(const std::string& resolved_yaml) {
  return fingerprint(config_without_location(resolved_yaml));
}

std::string data_fingerprint(const tasks::Splits& splits) {
  Fnv1a f;
  for (const auto* split : {&splits.train, &splits.dev, &splits.test}) {
    for (const tasks::Example& e : *split) {
      f.add(e.instruction);
      f.add("\x1f");  // unit and record separators: no two splits of the text hash alike
      f.add(e.response);
      f.add("\x1e");
    }
    f.add("\x1d");
  }
  return f.hex();
}

}  // namespace iapt::run
