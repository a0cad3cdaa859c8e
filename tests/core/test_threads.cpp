// iapt's own CPU kernels give the same bits on any number of threads: work is split at fixed
// quanta, reductions over rows sum fixed chunks in order, and BLAS called inside a parallel region
// runs on one thread. (OpenBLAS's own threaded GEMMs split work by thread count, so whole training
// runs match bitwise only at equal thread counts; runs record theirs.)
#include <catch2/catch.hpp>
#include <functional>
#include <omp.h>

#include "autograd/functions.h"
#include "core/ops.h"
#include "optim/optimizer.h"

using namespace iapt;

namespace {

// f's tensors with 1, 2 and 3 threads; every result must be bitwise the same.
void expect_thread_invariant(const std::string& what, const std::function<std::vector<Tensor>()>& f) {
  INFO(what);
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = f();
  for (int threads : {2, 3}) {
    omp_set_num_threads(threads);
    const auto many = f();
    REQUIRE(many.size() == one.size());
    for (size_t i = 0; i < one.size(); ++i) {
      INFO(threads << " threads, result " << i);
      CHECK(ops::amax(ops::unary(UnaryOp::Abs, ops::sub(one[i], many[i])), {}, false).item() == 0.0);
    }
  }
  omp_set_num_threads(before);
}

}  // namespace

TEST_CASE("threads: CPU kernels give the same bits on 1, 2 and 3 threads", "[threads]") {
  manual_seed(17);
  Tensor g = randn({300, 701}), u = randn({300, 701}), go = randn({300, 701});  // sizes off the quantum
  expect_thread_invariant("swiglu", [&] {
    Variable gv(g, true), uv(u, true);
    Variable y = swiglu(gv, uv);
    sum(mul(y, Variable(go))).backward();
    return std::vector<Tensor>{y.data(), gv.grad(), uv.grad()};
  });
  Tensor logits = randn({257, 3001});
  std::vector<int64_t> t(257);
  for (int64_t i = 0; i < 257; ++i) t[i] = i % 5 == 0 ? -100 : (i * 37) % 3001;
  Tensor targets = from_ints(t, {257});
  expect_thread_invariant("softmax and cross-entropy", [&] {
    Variable x(logits, true);
    Variable loss = cross_entropy(x, targets, -100);
    loss.backward();
    return std::vector<Tensor>{ops::softmax(logits, -1, false), ops::softmax(logits, 0, true), loss.data(), x.grad()};
  });
  Tensor h = randn({4, 300, 96}), w = randn({96});
  expect_thread_invariant("rms_norm", [&] {
    Variable hv(h, true), wv(w, true);
    Variable y = rms_norm(hv, wv, 1e-5);
    sum(mul(y, y)).backward();
    return std::vector<Tensor>{y.data(), hv.grad(), wv.grad()};
  });
  Tensor q = randn({2, 4, 64, 16}), k = randn({2, 2, 64, 16}), v = randn({2, 2, 64, 16});
  expect_thread_invariant("attention and rope", [&] {
    Variable qv(q, true), kv(k, true), vv(v, true);
    Variable y = attention(rope(qv, arange(64, DType::I64), 10000.0), kv, vv, true);
    sum(mul(y, y)).backward();
    return std::vector<Tensor>{y.data(), qv.grad(), kv.grad(), vv.grad()};
  });
  expect_thread_invariant("adamw", [&] {
    Variable p(g.clone(), true);
    optim::AdamW opt({p}, {.lr = 1e-2, .weight_decay = 0.1});
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      sum(mul(p, Variable(u))).backward();
      opt.step();
    }
    return std::vector<Tensor>{p.data()};
  });
}
