#pragma once
// (IA)^3 (Liu et al.): learned scaling vectors, initialised to one, on the keys and values and on
// the input of the MLP's down projection, named as PEFT names them: "<projection path>.ia3_l",
// [out, 1] on k_proj and v_proj, [1, in] on down_proj (a feed-forward module: its input is scaled).
#include <vector>

#include "nn/linear.h"
#include "nn/peft/method.h"

namespace iapt::nn {

class Ia3Scale : public Module, public LinearAdapter {
 public:
  Ia3Scale(int64_t features, bool scales_input, DType dtype);
  Variable forward(const Linear& base, const Variable& x) const override;
  Variable scale;
  bool scales_input;
};

class Ia3 : public PeftMethod {
 public:
  Ia3() : PeftMethod("") {}
  std::string name() const override { return "ia3"; }
  // Attaches to every k_proj, v_proj and down_proj of `model`; returns how many.
  int64_t attach(const Module& model, DType dtype = DType::F32);
};

}  // namespace iapt::nn
