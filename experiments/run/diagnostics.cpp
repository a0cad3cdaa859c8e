#include "experiments/run/diagnostics.h"

#include <cmath>
#include <fstream>
#include <regex>

#include "core/error.h"
#include "core/ops.h"

namespace iapt::run {

std::string parameter_group(const std::string& canonical_name) {
  static const std::regex layer(R"(layers\.\d+\.)");
  return std::regex_replace(canonical_name, layer, "");
}

namespace {

double squared_norm(const Tensor& t) {
  const Tensor c = t.to(Device::CPU).to(DType::F64).contiguous();
  double s = 0;
  for (int64_t i = 0; i < c.numel(); ++i) s += c.data<double>()[i] * c.data<double>()[i];
  return s;
}

nlohmann::json roots(const std::map<std::string, double>& squares) {
  nlohmann::json out = nlohmann::json::object();
  for (auto& [group, sq] : squares) out[group] = std::sqrt(sq);
  return out;
}

}  // namespace

Diagnostics::Diagnostics(const std::string& path, nn::PeftMethod& method, int64_t every, bool append)
    : method_(method), params_(method.canonical_parameters()), every_(every), path_(path) {
  IAPT_CHECK(every > 0, "diagnostics: every {} must be positive", every);
  if (!append) std::ofstream(path_, std::ios::trunc);
}

void Diagnostics::begin_step(int64_t step) {
  recording_ = due(step);
  if (!recording_) return;
  before_.clear();
  for (auto& [name, p] : params_) before_.push_back(p.data().clone());
  grad_sq_.clear();
  method_.statistics.values.clear();
  method_.statistics.enabled = true;
}

void Diagnostics::read_gradients() {
  if (!recording_) return;
  method_.statistics.enabled = false;  // the forward passes of this step are done
  for (auto& [name, p] : params_)
    grad_sq_[parameter_group(name)] += p.grad().defined() ? squared_norm(p.grad()) : 0.0;
}

void Diagnostics::end_step(int64_t step) {
  if (!recording_) return;
  recording_ = false;
  method_.statistics.enabled = false;
  std::map<std::string, double> update_sq, param_sq;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string group = parameter_group(params_[i].first);
    const Tensor now = params_[i].second.data();
    update_sq[group] += squared_norm(ops::sub(now, before_[i].to(now.device())));
    param_sq[group] += squared_norm(now);
  }
  before_.clear();
  nlohmann::json line{{"step", step + 1}, {"grad_norm", roots(grad_sq_)}, {"update_norm", roots(update_sq)},
                      {"param_norm", roots(param_sq)}};
  if (!method_.statistics.values.empty()) line["forward"] = method_.statistics.values;
  write(line);
}

void Diagnostics::write(const nlohmann::json& line) {
  std::ofstream out(path_, std::ios::app);
  out << line.dump() << '\n';
  IAPT_CHECK(out.good(), "diagnostics: cannot write {}", path_);
}

nlohmann::json start_distance(const Tensor& frozen_logits, const Tensor& method_logits, const Tensor& attention_mask,
                              const Tensor& labels) {
  IAPT_CHECK(frozen_logits.shape() == method_logits.shape() && frozen_logits.dim() == 3,
             "start_distance: logits {} and {}", shape_str(frozen_logits.shape()), shape_str(method_logits.shape()));
  auto host = [](const Tensor& t) { return t.to(Device::CPU).to(DType::F64).contiguous(); };
  const Tensor lf = host(ops::softmax(frozen_logits, -1, true)), lm = host(ops::softmax(method_logits, -1, true));
  const Tensor zf = host(frozen_logits), zm = host(method_logits), mask = host(attention_mask), lab = host(labels);
  const int64_t b = lf.size(0), t = lf.size(1), v = lf.size(2);
  double kl = 0, positions = 0, max_change = 0, loss_f = 0, loss_m = 0, targets = 0;
  for (int64_t r = 0; r < b; ++r)
    for (int64_t j = 0; j < t; ++j) {
      if (mask.data<double>()[r * t + j] == 0) continue;
      const double* pf = lf.data<double>() + (r * t + j) * v;
      const double* pm = lm.data<double>() + (r * t + j) * v;
      double k = 0;
      for (int64_t i = 0; i < v; ++i) {
        k += std::exp(pf[i]) * (pf[i] - pm[i]);
        max_change = std::max(max_change, std::abs(zf.data<double>()[(r * t + j) * v + i] - zm.data<double>()[(r * t + j) * v + i]));
      }
      kl += k, positions += 1;
      if (j + 1 < t && lab.data<double>()[r * t + j + 1] != -100) {
        const auto target = static_cast<int64_t>(lab.data<double>()[r * t + j + 1]);
        loss_f -= pf[target], loss_m -= pm[target], targets += 1;
      }
    }
  return {{"kl_from_frozen", positions > 0 ? kl / positions : 0.0},
          {"max_logit_change", max_change},
          {"frozen_response_loss", targets > 0 ? loss_f / targets : 0.0},
          {"response_loss", targets > 0 ? loss_m / targets : 0.0},
          {"positions", positions}};
}

}  // namespace iapt::run
