#include "nn/hooks.h"

#include "core/error.h"

namespace iapt::nn {

const Tensor& require_instruction_mask(const BatchInputs& batch, const Variable& h, const char* method) {
  const Tensor& mask = batch.instruction_mask;
  IAPT_CHECK(mask.defined(), "{}: the forward inputs carry no instruction mask (ForwardInputs::batch.instruction_mask, "
             "[B, T]) for hidden states {}", method, shape_str(h.shape()));
  IAPT_CHECK(mask.dim() == 2 && mask.size(0) == h.size(0) && mask.size(1) == h.size(1),
             "{}: instruction mask {} for hidden states {} (expected [B, T] of the same rows and length)", method,
             shape_str(mask.shape()), shape_str(h.shape()));
  return mask;
}

}  // namespace iapt::nn
