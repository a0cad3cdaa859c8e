#include "core/tensor.h"

#include <cmath>
#include <numeric>
#include <optional>

#include "core/backend.h"
#include "core/cpu_allocator.h"
#include "core/error.h"
#include "core/half.h"
#include "core/rng.h"

namespace iapt {

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset),
      dtype_(dtype) {
  for (int64_t d : shape_) IAPT_CHECK(d >= 0, "Tensor: negative size in shape {}", shape_str(shape_));
}

Device Tensor::device() const { return storage_ ? storage_->device() : Device::CPU; }

int64_t Tensor::size(int64_t axis) const { return shape_[wrap_axis(axis, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  IAPT_CHECK(defined(), "raw_data(): tensor is undefined");
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

static Shape infer_shape(Shape shape, int64_t numel, const char* op) {
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      IAPT_CHECK(infer_at < 0, "{}: more than one -1 in {}", op, shape_str(shape));
      infer_at = static_cast<int64_t>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    IAPT_CHECK(known > 0 && numel % known == 0, "{}: cannot infer -1 in {} for {} elements", op, shape_str(shape),
               numel);
    shape[infer_at] = numel / known;
  }
  IAPT_CHECK(shape_numel(shape) == numel, "{}: shape {} does not hold {} elements", op, shape_str(shape), numel);
  return shape;
}

// Strides for `target` aliasing a tensor of shape/strides `src`, or empty if impossible
// (the rule of PyTorch's computeStride: each run of merged source axes must be contiguous).
static std::optional<Shape> view_strides(const Shape& src, const Shape& src_strides, const Shape& target) {
  Shape out(target.size());
  if (shape_numel(src) == 0 || src.empty()) return contiguous_strides(target);
  int64_t view_d = static_cast<int64_t>(target.size()) - 1;
  int64_t chunk_base_stride = src_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(src.size()) - 1; d >= 0; --d) {
    tensor_numel *= src[d];
    if (d == 0 || (src[d - 1] != 1 && src_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || target[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= target[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = src_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor Tensor::view(Shape shape) const {
  shape = infer_shape(std::move(shape), numel(), "view");
  auto st = view_strides(shape_, strides_, shape);
  IAPT_CHECK(st.has_value(), "view: a tensor of shape {} and strides {} cannot be viewed as {}; use reshape",
             shape_str(shape_), shape_str(strides_), shape_str(shape));
  return Tensor(storage_, shape, *st, offset_, dtype_);
}

Tensor Tensor::reshape(Shape shape) const {
  shape = infer_shape(std::move(shape), numel(), "reshape");
  if (auto st = view_strides(shape_, strides_, shape)) return Tensor(storage_, shape, *st, offset_, dtype_);
  return contiguous().view(shape);
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  a = wrap_axis(a, dim(), "transpose");
  b = wrap_axis(b, dim(), "transpose");
  Shape s = shape_, st = strides_;
  std::swap(s[a], s[b]);
  std::swap(st[a], st[b]);
  return Tensor(storage_, s, st, offset_, dtype_);
}

Tensor Tensor::permute(const std::vector<int64_t>& order) const {
  IAPT_CHECK(static_cast<int64_t>(order.size()) == dim(), "permute: order {} for a tensor of rank {}",
             shape_str(order), dim());
  Shape s(order.size()), st(order.size());
  std::vector<bool> seen(order.size(), false);
  for (size_t i = 0; i < order.size(); ++i) {
    int64_t a = wrap_axis(order[i], dim(), "permute");
    IAPT_CHECK(!seen[a], "permute: axis {} repeated in {}", a, shape_str(order));
    seen[a] = true;
    s[i] = shape_[a];
    st[i] = strides_[a];
  }
  return Tensor(storage_, s, st, offset_, dtype_);
}

Tensor Tensor::narrow(int64_t axis, int64_t start, int64_t length) const {
  axis = wrap_axis(axis, dim(), "narrow");
  IAPT_CHECK(start >= 0 && length >= 0 && start + length <= shape_[axis],
             "narrow: [{}, {}) out of range for axis {} of size {}", start, start + length, axis, shape_[axis]);
  Shape s = shape_;
  s[axis] = length;
  return Tensor(storage_, s, strides_, offset_ + start * strides_[axis], dtype_);
}

Tensor Tensor::select(int64_t axis, int64_t index) const {
  axis = wrap_axis(axis, dim(), "select");
  if (index < 0) index += shape_[axis];
  IAPT_CHECK(index >= 0 && index < shape_[axis], "select: index {} out of range for axis {} of size {}", index,
             axis, shape_[axis]);
  Shape s = shape_, st = strides_;
  s.erase(s.begin() + axis);
  st.erase(st.begin() + axis);
  return Tensor(storage_, s, st, offset_ + index * strides_[axis], dtype_);
}

Tensor Tensor::expand(const Shape& shape) const {
  IAPT_CHECK(shape.size() >= shape_.size(), "expand: cannot expand {} to the lower rank {}", shape_str(shape_),
             shape_str(shape));
  size_t lead = shape.size() - shape_.size();
  Shape st(shape.size(), 0);
  for (size_t i = 0; i < shape_.size(); ++i) {
    int64_t want = shape[lead + i];
    if (shape_[i] == want) {
      st[lead + i] = strides_[i];
    } else {
      IAPT_CHECK(shape_[i] == 1, "expand: cannot expand {} to {}", shape_str(shape_), shape_str(shape));
      st[lead + i] = 0;
    }
  }
  return Tensor(storage_, shape, st, offset_, dtype_);
}

Tensor Tensor::unsqueeze(int64_t axis) const {
  axis = wrap_axis(axis, dim() + 1, "unsqueeze");
  Shape s = shape_, st = strides_;
  int64_t stride = axis < dim() ? strides_[axis] * shape_[axis] : 1;
  s.insert(s.begin() + axis, 1);
  st.insert(st.begin() + axis, stride);
  return Tensor(storage_, s, st, offset_, dtype_);
}

Tensor Tensor::squeeze(int64_t axis) const {
  axis = wrap_axis(axis, dim(), "squeeze");
  IAPT_CHECK(shape_[axis] == 1, "squeeze: axis {} of {} has size {}, not 1", axis, shape_str(shape_), shape_[axis]);
  Shape s = shape_, st = strides_;
  s.erase(s.begin() + axis);
  st.erase(st.begin() + axis);
  return Tensor(storage_, s, st, offset_, dtype_);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_, device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor out = empty(shape_, dtype, device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor src = contiguous();
  Tensor out = empty(shape_, dtype_, device);
  // The accelerator's backend owns copies between it and the host.
  backend_for(device == Device::CPU ? this->device() : device).transfer(src, out);
  return out;
}

void Tensor::copy_(const Tensor& src) const {
  IAPT_CHECK(src.defined() && defined(), "copy_: undefined tensor");
  for (size_t d = 0; d < shape_.size(); ++d)
    IAPT_CHECK(shape_[d] <= 1 || strides_[d] != 0, "copy_: the destination {} is broadcast (stride 0 on axis {}); "
               "writing through it would be ambiguous", shape_str(shape_), d);
  Tensor local = src.device() == device() ? src : src.to(device());
  // A source sharing this storage may overlap the destination: read it from a copy.
  if (local.storage() == storage_) local = local.clone();
  backend_for(device()).copy(local.expand(shape_), *this);
  storage_->bump_version();
}

void Tensor::fill_(double value) const {
  backend_for(device()).fill(*this, value);
  storage_->bump_version();
}

double Tensor::at(const std::vector<int64_t>& index) const {
  IAPT_CHECK(static_cast<int64_t>(index.size()) == dim(), "at: index of rank {} for a tensor of rank {}",
             index.size(), dim());
  if (device() != Device::CPU) return to(Device::CPU).at(index);
  int64_t off = offset_;
  for (size_t i = 0; i < index.size(); ++i) {
    IAPT_CHECK(index[i] >= 0 && index[i] < shape_[i], "at: index {} out of range for {}", shape_str(index),
               shape_str(shape_));
    off += index[i] * strides_[i];
  }
  switch (dtype_) {
    case DType::F32: return static_cast<const float*>(storage_->data())[off];
    case DType::F64: return static_cast<const double*>(storage_->data())[off];
    case DType::I64: return static_cast<double>(static_cast<const int64_t*>(storage_->data())[off]);
    case DType::BF16: return to_float(static_cast<const BFloat16*>(storage_->data())[off]);
    case DType::F16: return to_float(static_cast<const Float16*>(storage_->data())[off]);
  }
  return 0;
}

double Tensor::item() const {
  IAPT_CHECK(numel() == 1, "item: tensor of shape {} has {} elements, not one", shape_str(shape_), numel());
  return at(std::vector<int64_t>(shape_.size(), 0));
}

std::vector<double> Tensor::to_vector() const {
  Tensor c = to(Device::CPU).to(DType::F64).contiguous();
  const double* p = c.data<double>();
  return std::vector<double>(p, p + c.numel());
}

Tensor empty(const Shape& shape, DType dtype, Device device) {
  // sizes come from configs and files: a negative or overflowing one is an error here, before the
  // allocator sees it as a huge unsigned request
  uint64_t bytes = dtype_size(dtype);
  for (int64_t d : shape) {
    IAPT_CHECK(d >= 0, "tensor of shape {}: a size is negative", shape_str(shape));
    IAPT_CHECK(!__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes) && bytes <= kMaxAllocationBytes,
               "tensor of shape {} ({}): more than 2^62 bytes", shape_str(shape), dtype_name(dtype));
  }
  auto storage = allocate_storage(static_cast<size_t>(bytes), device);
  return Tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor scalar_tensor(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  IAPT_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: {} values for shape {}",
             values.size(), shape_str(shape));
  Tensor src(allocate_storage(values.size() * sizeof(double), Device::CPU), shape, contiguous_strides(shape), 0,
             DType::F64);
  std::copy(values.begin(), values.end(), src.data<double>());
  return src.to(dtype);
}

Tensor from_ints(const std::vector<int64_t>& values, const Shape& shape) {
  IAPT_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_ints: {} values for shape {}",
             values.size(), shape_str(shape));
  Tensor t = empty(shape, DType::I64);
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t;
}

Tensor arange(double start, double end, double step, DType dtype) {
  IAPT_CHECK(step != 0, "arange: step is zero");
  int64_t n = static_cast<int64_t>(std::ceil((end - start) / step));
  if (n < 0) n = 0;
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<double>(i) * step;
  if (dtype == DType::I64) {
    std::vector<int64_t> iv(v.begin(), v.end());
    return from_ints(iv, {n});
  }
  return from_vector(v, {n}, dtype);
}

Tensor arange(int64_t n, DType dtype) { return arange(0.0, static_cast<double>(n), 1.0, dtype); }

// The next numel counters of the default generator, filled by the backend's uniform or normal.
static Tensor draw(const Shape& shape, DType dtype, bool normal) {
  // 16-bit: the f32 draw, rounded; the same numbers as an f32 draw converted afterwards
  if (is_16bit(dtype)) return draw(shape, DType::F32, normal).to(dtype);
  Tensor t = empty(shape, dtype);
  Generator& g = default_generator();
  const uint64_t first = g.take(static_cast<uint64_t>(t.numel()));
  const Backend& be = backend_for(t.device());
  (normal ? be.normal : be.uniform)(t, g.seed(), first);
  return t;
}

Tensor rand(const Shape& shape, DType dtype) { return draw(shape, dtype, false); }
Tensor randn(const Shape& shape, DType dtype) { return draw(shape, dtype, true); }

}  // namespace iapt
