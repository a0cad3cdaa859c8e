#include "experiments/run/data_parallel.h"

namespace iapt::run {

double sum_over_ranks(const optim::Communicator& world, const std::vector<Variable>& trained, double loss) {
  std::vector<Tensor> parts;
  for (const Variable& p : trained) {
    if (!p.grad().defined()) p.set_grad(zeros(p.shape(), p.dtype(), p.data().device()));
    parts.push_back(p.grad());
  }
  const Tensor total = scalar_tensor(loss, DType::F64);
  parts.push_back(total);
  world.allreduce_sum(parts);
  return total.item();
}

}  // namespace iapt::run
