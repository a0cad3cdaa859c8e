#include "nn/module.h"

#include <set>

#include "core/error.h"
#include "core/safetensors.h"

namespace iapt::nn {

void Module::collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Variable>>& out) const {
  for (const auto& [name, p] : params_) out.emplace_back(prefix + name, p);
  for (const auto& [name, child] : children_) child->collect_parameters(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Variable>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Variable>> out;
  collect_parameters("", out);
  return out;
}

std::vector<Variable> Module::parameters() const {
  std::vector<Variable> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const auto& [name, child] : children_) {
    out.emplace_back(name, child);
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(name + "." + sub, m);
  }
  return out;
}

void Module::freeze() {
  for (auto& [name, p] : named_parameters()) p.set_requires_grad(false);
}

void Module::unfreeze() {
  for (auto& [name, p] : named_parameters()) p.set_requires_grad(true);
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (auto& [name, p] : named_parameters()) n += p.data().numel();
  return n;
}

int64_t Module::trainable_parameter_count() const {
  int64_t n = 0;
  for (auto& [name, p] : named_parameters())
    if (p.requires_grad()) n += p.data().numel();
  return n;
}

Variable Module::register_parameter(const std::string& name, Tensor init, bool requires_grad) {
  for (auto& [n, p] : params_) IAPT_CHECK(n != name, "register_parameter: '{}' registered twice", name);
  // a 16-bit parameter is a frozen weight from the start: gradients and optimizer state are f32
  const bool trainable = requires_grad && !is_16bit(init.dtype());
  Variable v(std::move(init), trainable);
  params_.emplace_back(name, v);
  return v;
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [name, p] : named_parameters()) out[name] = p.data();
  return out;
}

std::vector<std::string> Module::load_state_dict(const std::map<std::string, Tensor>& state,
                                                 const std::string& source) {
  std::set<std::string> used;
  for (auto& [name, p] : named_parameters()) {
    auto it = state.find(name);
    IAPT_CHECK(it != state.end(), "{}: missing tensor '{}' (expected shape {})", source, name, shape_str(p.shape()));
    IAPT_CHECK(it->second.shape() == p.shape(), "{}: tensor '{}' has shape {}, expected {}", source, name,
               shape_str(it->second.shape()), shape_str(p.shape()));
    IAPT_CHECK(is_floating(it->second.dtype()), "{}: tensor '{}' has dtype {}, expected a floating type", source, name,
               dtype_name(it->second.dtype()));
    const Tensor& src = it->second;
    if (src.dtype() == p.dtype() && src.device() == p.data().device() && src.is_contiguous())
      p.set_data(src);  // adopt: a memory-mapped checkpoint stays mapped, nothing is copied
    else
      p.data().copy_(src);  // converts dtype and device
    used.insert(name);
  }
  std::vector<std::string> unused;
  for (auto& [name, t] : state)
    if (!used.count(name)) unused.push_back(name);
  return unused;
}

void Module::save(const std::string& path, const std::map<std::string, std::string>& metadata) const {
  save_safetensors(path, state_dict(), metadata);
}

void Module::load(const std::string& path) {
  SafetensorsFile f = load_safetensors(path);
  auto unused = load_state_dict(f.tensors, path);
  IAPT_CHECK(unused.empty(), "{}: tensor '{}' matches no parameter of the module", path, unused.front());
}

void Module::to(Device device) {
  for (auto& [name, p] : params_) p.set_data(p.data().to(device));
  for (auto& [name, child] : children_) child->to(device);
}

}  // namespace iapt::nn
