#pragma once
// Tenants' adapters for serving: a registry directory holds one subdirectory per tenant with
// config.yaml (its `method` section, as a run's best/ folder has it) and adapter.safetensors (the
// tunable parameters by canonical name). Tenants load in the order of their names.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "experiments/config/peft_config.h"
#include "models/llama.h"
#include "nn/peft/multi_tenant.h"

namespace iapt::serve {

struct Tenant {
  std::string name;
  config::MethodSpec method;
  YAML::Node method_yaml;
  std::map<std::string, Tensor> state;  // canonical name -> value
};

// Every tenant of `dir`; an error names the tenant's file and what is wrong. All must be IAPT or
// all LoRA, with the same shape of adapter.
std::vector<Tenant> load_tenants(const std::string& dir, const models::LlamaConfig& backbone);
void save_tenant(const std::string& dir, const Tenant& tenant);

// `count` tenants of one method with random parameters (seeded), for benchmarks and tests:
// method_yaml is a method section ("{name: lora, r: 4}").
std::vector<Tenant> random_tenants(const std::shared_ptr<models::LlamaForCausalLM>& model, const std::string& method_yaml,
                                   int64_t count, uint64_t seed);

// The serving form of loaded tenants: IAPT's per-tenant methods behind one set of hooks, or LoRA
// attached to the model's projections (detached when the returned object goes).
std::unique_ptr<nn::MultiTenantIapt> serve_iapt(const std::shared_ptr<models::LlamaForCausalLM>& model,
                                                const std::vector<Tenant>& tenants);
std::unique_ptr<nn::MultiTenantLora> serve_lora(const std::shared_ptr<models::LlamaForCausalLM>& model,
                                                const std::vector<Tenant>& tenants, nn::LoraBatching batching);

}  // namespace iapt::serve
