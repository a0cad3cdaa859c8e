#include "experiments/serve/tenants.h"

#include <algorithm>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "experiments/config/yaml_reader.h"
#include "nn/peft/lora.h"

namespace iapt::serve {

namespace fs = std::filesystem;

namespace {

Tenant read_tenant(const fs::path& dir, const models::LlamaConfig& backbone) {
  Tenant t;
  t.name = dir.filename().string();
  const std::string config = (dir / "config.yaml").string(), weights = (dir / "adapter.safetensors").string();
  YAML::Node root = config::load_yaml_file(config);
  IAPT_CHECK(root["method"], "{}: no 'method' section (a tenant's config.yaml is a run's, or names its method)", config);
  t.method_yaml = YAML::Clone(root["method"]);
  t.method = config::read_method(config::YamlMap(t.method_yaml, config, "method"), backbone);
  IAPT_CHECK(t.method.name == "iapt" || t.method.name == "lora", "{}: method '{}': serving takes iapt or lora tenants",
             config, t.method.name);
  t.state = load_safetensors(weights).tensors;
  return t;
}

}  // namespace

std::vector<Tenant> load_tenants(const std::string& dir, const models::LlamaConfig& backbone) {
  IAPT_CHECK(fs::is_directory(dir), "{}: not a directory of tenants", dir);
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  std::vector<Tenant> out;
  for (const auto& d : dirs) out.push_back(read_tenant(d, backbone));
  IAPT_CHECK(!out.empty(), "{}: no tenant subdirectories (each with config.yaml and adapter.safetensors)", dir);
  for (const auto& t : out)
    IAPT_CHECK(t.method.name == out.front().method.name, "{}: tenants {} ({}) and {} ({}) use different methods", dir,
               out.front().name, out.front().method.name, t.name, t.method.name);
  return out;
}

void save_tenant(const std::string& dir, const Tenant& t) {
  const fs::path d = fs::path(dir) / t.name;
  fs::create_directories(d);
  save_safetensors((d / "adapter.safetensors").string(), t.state);
  YAML::Node root;
  root["method"] = t.method_yaml;
  YAML::Emitter e;
  e << root;
  write_text_atomically((d / "config.yaml").string(), std::string(e.c_str()) + "\n");
}

std::vector<Tenant> random_tenants(const std::shared_ptr<models::LlamaForCausalLM>& model, const std::string& method_yaml,
                                   int64_t count, uint64_t seed) {
  manual_seed(seed);
  YAML::Node node = YAML::Load(method_yaml);
  std::vector<Tenant> out;
  for (int64_t i = 0; i < count; ++i) {
    Tenant t;
    t.name = fmt::format("tenant-{:03d}", i);
    t.method_yaml = YAML::Clone(node);
    t.method = config::read_method(config::YamlMap(t.method_yaml, "random tenants", "method"), model->config);
    auto m = config::make_method(t.method, model, model->precision.compute);
    for (auto& [name, p] : m->canonical_parameters())  // away from LoRA's zero B: every tenant acts
      if (name.find("numerator") == std::string::npos && name.find("denominator") == std::string::npos)
        p.data().copy_(ops::add(p.data(), ops::mul_scalar(randn(p.shape(), p.dtype()).to(p.data().device()), 0.02)));
    t.state = m->canonical_state();
    if (auto lora = std::dynamic_pointer_cast<nn::Lora>(m)) lora->detach();
    out.push_back(std::move(t));
  }
  return out;
}

std::unique_ptr<nn::MultiTenantIapt> serve_iapt(const std::shared_ptr<models::LlamaForCausalLM>& model,
                                                const std::vector<Tenant>& tenants) {
  std::vector<std::shared_ptr<nn::Iapt>> methods;
  for (const auto& t : tenants) {
    IAPT_CHECK(t.method.name == "iapt", "tenant {}: {} where IAPT tenants are served", t.name, t.method.name);
    auto m = std::dynamic_pointer_cast<nn::Iapt>(config::make_method(t.method, model, model->precision.compute));
    m->load_canonical_state(t.state, "", t.name + "/adapter.safetensors");
    m->to(model->lm_head_weight().data().device());
    m->set_training(false);
    methods.push_back(m);
  }
  return std::make_unique<nn::MultiTenantIapt>(methods);
}

std::unique_ptr<nn::MultiTenantLora> serve_lora(const std::shared_ptr<models::LlamaForCausalLM>& model,
                                                const std::vector<Tenant>& tenants, nn::LoraBatching batching) {
  std::vector<std::map<std::string, Tensor>> states;
  for (const auto& t : tenants) {
    IAPT_CHECK(t.method.name == "lora", "tenant {}: {} where LoRA tenants are served", t.name, t.method.name);
    const nn::LoraOptions& first = tenants.front().method.get<nn::LoraOptions>();
    const nn::LoraOptions& own = t.method.get<nn::LoraOptions>();
    IAPT_CHECK(own.r == first.r && own.alpha == first.alpha, "tenants {} and {}: LoRA rank or alpha differ",
               tenants.front().name, t.name);
    states.push_back(t.state);
  }
  const nn::LoraOptions& first = tenants.front().method.get<nn::LoraOptions>();
  const double scale = first.alpha / static_cast<double>(first.r);
  return std::make_unique<nn::MultiTenantLora>(*model, states, scale, batching);
}

}  // namespace iapt::serve
