#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/safetensors.h"
#include "optim/clip.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"

using namespace iapt;

namespace {

// Runs `name` on the fixture's two rows (two groups) and compares each step with torch.optim's.
void check_trajectory(const std::string& name) {
  auto f = load_safetensors(std::string(IAPT_FIXTURE_DIR) + "/optim.safetensors").tensors;
  Tensor p0 = f.at("p0").to(DType::F64);
  Variable row0(p0.select(0, 0).clone(), true), row1(p0.select(0, 1).clone(), true);
  std::vector<optim::ParamGroup> groups{{"decayed", {row0}, 0.1, 0.01}, {"plain", {row1}, 0.02, 0.0}};
  std::unique_ptr<optim::Optimizer> opt;
  if (name == "sgd") opt = std::make_unique<optim::SGD>(groups, optim::SgdOptions{0.9});
  if (name == "adam") opt = std::make_unique<optim::Adam>(groups);
  if (name == "adamw") opt = std::make_unique<optim::AdamW>(groups);
  for (int i = 1; i <= 3; ++i) {
    Tensor g = f.at(fmt::format("g{}", i)).to(DType::F64);
    row0.set_grad(g.select(0, 0).clone());
    row1.set_grad(g.select(0, 1).clone());
    opt->step();
    Tensor want = f.at(name + ".step" + std::to_string(i));
    auto w = want.to_vector();
    auto a = row0.data().to_vector(), b = row1.data().to_vector();
    for (int j = 0; j < 3; ++j) {
      INFO(name << " step " << i << " element " << j);
      CHECK(a[j] == Approx(w[j]).epsilon(1e-6).margin(1e-7));
      CHECK(b[j] == Approx(w[3 + j]).epsilon(1e-6).margin(1e-7));
    }
  }
}

}  // namespace

TEST_CASE("optimizers: SGD, Adam and AdamW follow torch.optim with two parameter groups", "[optim][reference]") {
  check_trajectory("sgd");
  check_trajectory("adam");
  check_trajectory("adamw");
}

TEST_CASE("optimizers: state save and load resumes the same trajectory", "[optim]") {
  auto run = [](bool reload) {
    Variable p(from_vector({1.0, -2.0, 0.5}, {3}, DType::F64), true);
    optim::AdamW opt(std::vector<Variable>{p}, {.lr = 0.1, .weight_decay = 0.05});
    for (int i = 0; i < 4; ++i) {
      p.set_grad(ops::mul_scalar(p.data(), 2.0));  // the gradient of |p|^2
      opt.step();
      if (reload && i == 1) {
        auto state = opt.state_dict();
        Tensor saved = p.data().clone();
        optim::AdamW fresh(std::vector<Variable>{p}, {.lr = 0.1, .weight_decay = 0.05});
        fresh.load_state_dict(state, "test");
        CHECK(fresh.steps() == 2);
        for (int j = i + 1; j < 4; ++j) {
          p.set_grad(ops::mul_scalar(p.data(), 2.0));
          fresh.step();
        }
        return p.data().to_vector();
      }
    }
    return p.data().to_vector();
  };
  CHECK(run(true) == run(false));
}

TEST_CASE("schedules: linear warm-up and decay, cosine", "[optim]") {
  optim::Schedule linear{"linear", 10, 110, 0.0};
  CHECK(linear.multiplier(0) == Approx(0.1));
  CHECK(linear.multiplier(9) == Approx(1.0));
  CHECK(linear.multiplier(10) == Approx(1.0));
  CHECK(linear.multiplier(60) == Approx(0.5));
  CHECK(linear.multiplier(110) == Approx(0.0));
  optim::Schedule cosine{"cosine", 0, 100, 0.1};
  CHECK(cosine.multiplier(0) == Approx(1.0));
  CHECK(cosine.multiplier(50) == Approx(0.55));
  CHECK(cosine.multiplier(100) == Approx(0.1));
  CHECK_THROWS_WITH((optim::Schedule{"step", 0, 10, 0}.multiplier(5)), Catch::Contains("unknown kind 'step'"));
}

TEST_CASE("clipping: the global norm is capped at max_norm", "[optim]") {
  Variable a(from_vector({1, 2}, {2}, DType::F64), true), b(from_vector({2}, {1}, DType::F64), true);
  a.set_grad(from_vector({3, 0}, {2}, DType::F64));
  b.set_grad(from_vector({4}, {1}, DType::F64));
  CHECK(optim::clip_grad_norm({a, b}, 1.0) == Approx(5.0));
  CHECK(a.grad().at({0}) == Approx(0.6).epsilon(1e-5));
  CHECK(b.grad().at({0}) == Approx(0.8).epsilon(1e-5));
  CHECK(optim::clip_grad_norm({a, b}, 10.0) == Approx(1.0).epsilon(1e-5));  // under the cap: unchanged
}

TEST_CASE("optimizers: a step between a forward pass and its backward is caught, for every update path",
          "[optim][autograd]") {
  // f32 contiguous parameters take the backend's fused Adam kernel; f64 and SGD take copy_.
  for (const std::string name : {"adamw", "sgd"}) {
    for (DType dtype : {DType::F32, DType::F64}) {
      INFO(name << " " << dtype_name(dtype));
      Variable p(from_vector({1.0, -2.0, 0.5}, {3}, dtype), true);
      std::unique_ptr<optim::Optimizer> opt;
      if (name == "adamw") opt = std::make_unique<optim::AdamW>(std::vector<Variable>{p}, optim::AdamOptions{.lr = 0.1});
      else opt = std::make_unique<optim::SGD>(std::vector<optim::ParamGroup>{{"all", {p}, 0.1, 0.0}});
      Variable loss = sum(mul(p, p));
      loss.backward(/*retain_graph=*/true);
      opt->step();  // p changes in place; mul's backward would read the new p
      CHECK_THROWS_WITH(loss.backward(), Catch::Contains("backward of 'mul': its input 0 was changed in place"));
    }
  }
}
