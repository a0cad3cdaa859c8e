#pragma once
// Shapes and strides (in elements), and the broadcasting rule shared by every op.
#include <cstdint>
#include <string>
#include <vector>

namespace iapt {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);
std::string shape_str(const Shape& s);
// Normalises a possibly negative axis against a rank; `op` names the caller in the error.
int64_t wrap_axis(int64_t axis, int64_t rank, const char* op);
// NumPy broadcasting of two shapes; throws naming `op` and both shapes when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// A shape seen as [outer, n, inner] around one axis (softmax and friends walk it this way).
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
AxisSplit split_at_axis(const Shape& s, int64_t axis);

// Calls f(batch_index, offset_a, offset_b) for every index of the leading `batch` axes of two
// operands with their own strides (0 on broadcast axes), in row-major order.
template <class F>
void for_each_batch_offset(const Shape& batch, const Shape& strides_a, const Shape& strides_b, F&& f) {
  const int64_t rank = static_cast<int64_t>(batch.size()), count = shape_numel(batch);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t bi = 0; bi < count; ++bi) {
    int64_t oa = 0, ob = 0;
    for (int64_t d = 0; d < rank; ++d) oa += idx[d] * strides_a[d], ob += idx[d] * strides_b[d];
    f(bi, oa, ob);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace iapt
