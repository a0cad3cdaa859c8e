#include "nn/peft/method.h"

#include <set>

#include "core/error.h"

namespace iapt::nn {

std::map<std::string, Tensor> PeftMethod::canonical_state() const {
  std::map<std::string, Tensor> out;
  for (auto& [name, p] : canonical_parameters()) out[name] = p.data();
  return out;
}

void PeftMethod::load_canonical_state(const std::map<std::string, Tensor>& state, const std::string& prefix,
                                      const std::string& source) const {
  std::set<std::string> used;
  for (auto& [name, p] : canonical_parameters()) {
    auto it = state.find(prefix + name);
    IAPT_CHECK(it != state.end(), "{}: missing parameter '{}' (shape {})", source, prefix + name, shape_str(p.shape()));
    IAPT_CHECK(it->second.shape() == p.shape(), "{}: parameter '{}' has shape {}, expected {}", source, prefix + name,
               shape_str(it->second.shape()), shape_str(p.shape()));
    p.data().copy_(it->second);
    used.insert(prefix + name);
  }
  for (auto& [name, t] : state)
    IAPT_CHECK(name.rfind(prefix, 0) != 0 || used.count(name), "{}: '{}' is not a trainable parameter of method {}",
               source, name, this->name());
}

}  // namespace iapt::nn
