#pragma once
// LoRA (Hu et al.): a low-rank update on chosen projections, y = x W^T + (alpha / r) B A dropout(x),
// A [r, in] (Kaiming-uniform, as PEFT), B [out, r] (zeros: training starts at the frozen model).
// Parameters are named like PEFT's: "<projection path>.lora_A.weight", "<projection path>.lora_B.weight".
#include <string>
#include <vector>

#include "nn/linear.h"
#include "nn/peft/method.h"

namespace iapt::nn {

struct LoraOptions {
  int64_t r = 8;
  double alpha = 16;
  double dropout = 0.0;
  // Projection names among q, k, v, o, gate, up, down (matched as "<name>_proj" at the end of a path).
  std::vector<std::string> targets{"q", "v"};
};

class LoraAdapter : public Module, public LinearAdapter {
 public:
  LoraAdapter(int64_t in, int64_t out, const LoraOptions& options, DType dtype);
  Variable forward(const Linear& base, const Variable& x) const override;
  Variable lora_a, lora_b;
  double scale, dropout;
  bool training = true;
};

class Lora : public PeftMethod {
 public:
  explicit Lora(const LoraOptions& options) : PeftMethod(""), options(options) {}
  std::string name() const override { return "lora"; }
  // Attaches an adapter to every target projection of `model` (by path); returns how many.
  int64_t attach(const Module& model, DType dtype = DType::F32);
  void detach();
  void set_training(bool on) override;
  LoraOptions options;

 private:
  std::vector<std::shared_ptr<Linear>> attached_;
  std::vector<std::shared_ptr<LoraAdapter>> adapters_;
};

// "q" -> "q_proj"; throws naming the allowed targets for anything else.
std::string projection_name(const std::string& target);

}  // namespace iapt::nn
