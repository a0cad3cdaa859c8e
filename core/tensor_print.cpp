#include <ostream>

#include "core/error.h"
#include "core/tensor.h"

namespace iapt {

namespace {

// Nested brackets like NumPy; long axes show their first and last few entries around "...".
void print_axis(const Tensor& t, std::vector<int64_t>& index, size_t axis, int64_t edge, std::string& out) {
  const int64_t n = t.shape()[axis];
  out += '[';
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * edge && i == edge) {
      out += axis + 1 == t.shape().size() ? "..., " : "...,\n";
      i = n - edge - 1;
      continue;
    }
    index[axis] = i;
    if (axis + 1 == t.shape().size()) {
      double v = t.at(index);
      out += t.dtype() == DType::I64 ? fmt::format("{}", static_cast<int64_t>(v)) : fmt::format("{:.6g}", v);
    } else {
      print_axis(t, index, axis + 1, edge, out);
    }
    if (i + 1 < n) out += axis + 1 == t.shape().size() ? ", " : ",\n";
  }
  out += ']';
}

}  // namespace

std::string Tensor::to_string(int64_t max_per_axis) const {
  if (!defined()) return "tensor(undefined)";
  std::string body;
  if (dim() == 0) {
    body = dtype_ == DType::I64 ? fmt::format("{}", static_cast<int64_t>(item())) : fmt::format("{:.6g}", item());
  } else {
    std::vector<int64_t> index(dim(), 0);
    print_axis(*this, index, 0, std::max<int64_t>(1, max_per_axis / 2), body);
  }
  return fmt::format("tensor({}, shape={}, dtype={}, device={})", body, shape_str(shape_), dtype_name(dtype_),
                     device_name(device()));
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace iapt
