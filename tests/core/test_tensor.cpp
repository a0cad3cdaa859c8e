#include <catch2/catch.hpp>

#include "core/backend.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/tensor.h"

using namespace iapt;

TEST_CASE("tensor: creation fills shape, dtype and values", "[core]") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == DType::F32);
  CHECK(z.is_contiguous());
  CHECK(z.to_vector() == std::vector<double>(6, 0.0));
  CHECK(ones({2}, DType::F64).to_vector() == std::vector<double>{1, 1});
  CHECK(full({2, 2}, 2.5).to_vector() == std::vector<double>(4, 2.5));
  CHECK(arange(4).to_vector() == std::vector<double>{0, 1, 2, 3});
  CHECK(arange(1.0, 2.0, 0.25, DType::F64).to_vector() == std::vector<double>{1, 1.25, 1.5, 1.75});
  CHECK(arange(3, DType::I64).dtype() == DType::I64);
  CHECK(scalar_tensor(7.0).dim() == 0);
  CHECK(scalar_tensor(7.0).item() == 7.0);
}

TEST_CASE("tensor: views share storage and copy nothing", "[core]") {
  Tensor x = arange(24).reshape({2, 3, 4});
  Tensor t = x.transpose(0, 2);  // [4, 3, 2]
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK(t.storage() == x.storage());
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.at({3, 1, 1}) == x.at({1, 1, 3}));

  Tensor p = x.permute({1, 2, 0});
  CHECK(p.shape() == Shape{3, 4, 2});
  CHECK(p.at({2, 3, 1}) == x.at({1, 2, 3}));

  Tensor n = x.narrow(2, 1, 2);
  CHECK(n.shape() == Shape{2, 3, 2});
  CHECK(n.storage() == x.storage());
  CHECK(n.at({1, 2, 0}) == x.at({1, 2, 1}));

  Tensor e = arange(3).reshape({3, 1}).expand({3, 4});
  CHECK(e.strides()[1] == 0);
  CHECK(e.at({2, 3}) == 2.0);

  Tensor s = x.select(1, 2);
  CHECK(s.shape() == Shape{2, 4});
  CHECK(s.at({1, 3}) == x.at({1, 2, 3}));

  CHECK(x.unsqueeze(1).shape() == Shape{2, 1, 3, 4});
  CHECK(x.unsqueeze(1).squeeze(1).shape() == Shape{2, 3, 4});
  CHECK(x.view({6, -1}).shape() == Shape{6, 4});
  CHECK(x.view({6, -1}).storage() == x.storage());
}

TEST_CASE("tensor: view refuses layouts it cannot alias, reshape copies", "[core]") {
  Tensor x = arange(6).reshape({2, 3});
  Tensor t = x.transpose(0, 1);
  CHECK_THROWS_WITH(t.view({6}), Catch::Contains("cannot be viewed"));
  Tensor r = t.reshape({6});
  CHECK(r.storage() != x.storage());
  CHECK(r.to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK_THROWS_WITH(x.view({4, 2}), Catch::Contains("does not hold 6 elements"));
}

TEST_CASE("tensor: contiguous, clone, cast and copy_", "[core]") {
  Tensor x = arange(6).reshape({2, 3}).transpose(0, 1);
  Tensor c = x.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
  Tensor same = c.contiguous();
  CHECK(same.storage() == c.storage());
  Tensor cl = c.clone();
  CHECK(cl.storage() != c.storage());

  Tensor d = from_vector({1.5, -2.25}, {2}, DType::F64).to(DType::F32);
  CHECK(d.dtype() == DType::F32);
  CHECK(d.to_vector() == std::vector<double>{1.5, -2.25});
  CHECK(from_vector({2.9, -1.9}, {2}).to(DType::I64).to_vector() == std::vector<double>{2, -1});

  Tensor dst = zeros({2, 3});
  dst.narrow(1, 1, 2).copy_(ones({2, 1}));  // broadcast into a strided view
  CHECK(dst.to_vector() == std::vector<double>{0, 1, 1, 0, 1, 1});
}

TEST_CASE("tensor: printing shows values, shape and dtype", "[core]") {
  std::string s = arange(4).reshape({2, 2}).to_string();
  CHECK(s == "tensor([[0, 1],\n[2, 3]], shape=[2, 2], dtype=f32, device=cpu)");
  std::string big = arange(100).to_string();
  CHECK(big.find("...") != std::string::npos);
  CHECK(big.find("99") != std::string::npos);
  CHECK(from_ints({4, 5}, {2}).to_string() == "tensor([4, 5], shape=[2], dtype=i64, device=cpu)");
}

TEST_CASE("ops: shape errors name the op and both shapes", "[core]") {
  CHECK_THROWS_WITH(ops::add(zeros({2, 3}), zeros({4})), Catch::Contains("add: shapes [2, 3] and [4]"));
  CHECK_THROWS_WITH(ops::matmul(zeros({2, 3}), zeros({4, 5})), Catch::Contains("matmul: inner sizes differ"));
  CHECK_THROWS_WITH(ops::mul(zeros({2}), zeros({2}, DType::F64)), Catch::Contains("mul: dtypes f32 and f64"));
}

TEST_CASE("ops: matmul folds transposes and broadcast batches into BLAS without changing results", "[core]") {
  Tensor a = randn({3, 4, 5}, DType::F64), b = randn({5, 6}, DType::F64);
  Tensor ref = ops::matmul(a.contiguous(), b.contiguous());
  // the same product from transposed storage on both sides
  Tensor at = a.transpose(1, 2).contiguous().transpose(1, 2);
  Tensor bt = b.transpose(0, 1).contiguous().transpose(0, 1);
  Tensor got = ops::matmul(at, bt);
  auto r = ref.to_vector(), g = got.to_vector();
  for (size_t i = 0; i < r.size(); ++i) CHECK(g[i] == Approx(r[i]).epsilon(1e-12));
  // by hand for one element
  double s = 0;
  for (int64_t k = 0; k < 5; ++k) s += a.at({2, 3, k}) * b.at({k, 4});
  CHECK(ref.at({2, 3, 4}) == Approx(s).epsilon(1e-12));
}

TEST_CASE("tensor: copy_ between overlapping views reads the source before writing", "[core]") {
  Tensor t = arange(6);
  t.narrow(0, 1, 5).copy_(t.narrow(0, 0, 5));
  CHECK(t.to_vector() == std::vector<double>{0, 0, 1, 2, 3, 4});
  Tensor b = zeros({1, 3}).expand({2, 3});
  CHECK_THROWS_WITH(b.copy_(ones({2, 3})), Catch::Contains("broadcast"));
}

TEST_CASE("tensor: moving to a device this machine lacks is a clear error", "[core]") {
  if (device_available(Device::CUDA)) {
    Tensor t = arange(5).to(Device::CUDA);
    CHECK(t.device() == Device::CUDA);
    CHECK(t.to(Device::CPU).to_vector() == std::vector<double>{0, 1, 2, 3, 4});
  } else {
    CHECK_THROWS_WITH(arange(5).to(Device::CUDA), Catch::Contains("cuda"));
  }
}
