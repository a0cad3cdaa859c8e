#pragma once
// Bottleneck adapters on a sublayer's output, before the residual add:
//   serial (Houlsby et al.):  out + up(relu(down(out)))
//   parallel (He et al.):     out + scale * up(relu(down(input)))   (input: what the sublayer read)
// on the attention sublayer, the MLP, or both; up starts at zero, so training starts at the
// frozen model.
#include <map>

#include "nn/linear.h"
#include "nn/peft/method.h"

namespace iapt::nn {

struct AdapterOptions {
  bool parallel = false;
  int64_t bottleneck = 64;
  std::string placement = "both";  // attention, mlp or both
  double scale = 1.0;              // parallel only
};

class BottleneckAdapter : public Module {
 public:
  BottleneckAdapter(int64_t hidden, int64_t bottleneck, DType dtype);
  Variable forward(const Variable& x) const;  // up(relu(down(x)))
  std::shared_ptr<Linear> down, up;
};

class Adapters : public PeftMethod {
 public:
  Adapters(int64_t hidden, int64_t num_layers, const AdapterOptions& options, DType dtype = DType::F32);
  std::string name() const override { return options.parallel ? "parallel_adapter" : "adapter"; }
  Variable adapt_sublayer(int64_t layer, Sublayer which, const Variable& input, const Variable& output) override;
  AdapterOptions options;
  std::map<std::pair<int64_t, int>, std::shared_ptr<BottleneckAdapter>> adapters;  // (layer, sublayer)
};

}  // namespace iapt::nn
