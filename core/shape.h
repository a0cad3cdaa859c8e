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

}  // namespace iapt
