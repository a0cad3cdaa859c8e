#include "experiments/config/methods.h"

#include <fmt/ranges.h>
#include <initializer_list>
#include <utility>

#include "kernels/rational_math.h"

namespace iapt::config {

int64_t MethodReader::soft_tokens(int64_t fallback) const {
  return m.get_in<int64_t>("soft_tokens", fallback, 1, std::max<int64_t>(1, backbone.max_position_embeddings - 1));
}

int64_t MethodReader::size(const std::string& key, int64_t fallback) const {
  return m.get_in<int64_t>(key, fallback, 1, kMaxSize);
}

namespace {
constexpr int64_t kMaxDegree = kernels::kMaxRationalDegree;  // of a rational's numerator or denominator
}  // namespace

nn::ActivationSpec read_activation(YamlMap a) {
  nn::ActivationSpec spec;
  std::vector<std::string> kinds{"rational"};
  for (const auto& n : nn::named_activations()) kinds.push_back(n);
  spec.kind = a.choice("kind", "rational", kinds);
  if (spec.kind == "rational") {
    spec.rational.version = nn::parse_rational_version(a.choice("version", "B", {"A", "B", "C", "N"}));
    std::vector<int64_t> deg = a.int_list("degrees", {6, 5});
    IAPT_CHECK(deg.size() == 2 && deg[0] >= 0 && deg[0] <= kMaxDegree && deg[1] >= 0 && deg[1] <= kMaxDegree,
               "{}: {}: expected [numerator, denominator], each from 0 to {}, got {}", a.where("degrees"),
               a.key_path("degrees"), kMaxDegree, fmt::join(deg, ", "));
    spec.rational.deg_num = static_cast<int>(deg[0]);
    spec.rational.deg_den = static_cast<int>(deg[1]);
    spec.rational.init = a.choice("init", "gelu", nn::named_activations());
  }
  a.finish();
  return spec;
}

void read_starts(YamlMap& m, std::initializer_list<std::pair<const char*, nn::ParameterStart*>> parts) {
  YamlMap start = m.map("start");
  for (auto [part, value] : parts) {
    value->kind = start.choice(part, value->kind, nn::parameter_start_kinds());
    value->std = start.get_above(std::string(part) + "_std", value->std, 0.0);
  }
  start.finish();
}

nn::PoolerKind read_pooler(YamlMap& m) {
  return nn::parse_pooler(m.choice("pooler", "attention", {"attention", "mean", "max", "last"}));
}

#define IAPT_METHOD(entry) MethodEntry entry();
#include "experiments/config/methods/registry.inc"
#undef IAPT_METHOD

const std::vector<MethodEntry>& methods() {
  static const std::vector<MethodEntry> entries{
#define IAPT_METHOD(entry) entry(),
#include "experiments/config/methods/registry.inc"
#undef IAPT_METHOD
  };
  return entries;
}

const MethodEntry& method_entry(const std::string& name) {
  for (const auto& e : methods())
    if (e.name == name) return e;
  throw Error(fmt::format("unknown method '{}' (one of {})", name, fmt::join(method_names(), ", ")));
}

}  // namespace iapt::config
