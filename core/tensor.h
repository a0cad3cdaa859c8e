#pragma once
// Tensor: a strided view (shape, strides, offset, dtype) over shared storage.
// Views share storage and copy nothing; ops that need dense rows call contiguous().
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/storage.h"

namespace iapt {

class Tensor {
 public:
  Tensor() = default;  // undefined: holds no storage
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  Device device() const;
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t axis) const;
  int64_t numel() const { return shape_numel(shape_); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  // Pointer to the first element; checks that T matches the dtype.
  template <class T> T* data() const;
  void* raw_data() const;

  // --- views (no copy) ---
  Tensor view(Shape shape) const;     // requires a layout the new shape can alias; -1 infers one axis
  Tensor reshape(Shape shape) const;  // a view where possible, else a contiguous copy
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor permute(const std::vector<int64_t>& order) const;
  Tensor narrow(int64_t axis, int64_t start, int64_t length) const;
  Tensor select(int64_t axis, int64_t index) const;  // drops the axis
  Tensor expand(const Shape& shape) const;            // broadcast with zero strides
  Tensor unsqueeze(int64_t axis) const;
  Tensor squeeze(int64_t axis) const;
  Tensor flatten() const { return reshape({numel()}); }

  // --- copies ---
  Tensor contiguous() const;  // itself if already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  // In place on the shared storage (a Tensor is a handle, so these are const like its views).
  void copy_(const Tensor& src) const;  // src broadcast to this shape, cast to this dtype
  void fill_(double value) const;

  double item() const;                       // a one-element tensor's value
  double at(const std::vector<int64_t>& index) const;  // one element, for tests and printing
  std::vector<double> to_vector() const;     // all elements in row-major order
  std::string to_string(int64_t max_per_axis = 6) const;

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::F32;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// --- creation ---
Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::CPU);
Tensor scalar_tensor(double value, DType dtype = DType::F32, Device device = Device::CPU);
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::F32);
Tensor arange(int64_t n, DType dtype = DType::F32);
Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::F32);
Tensor from_ints(const std::vector<int64_t>& values, const Shape& shape);
// Uniform in [0, 1) and standard normal, from the default counter-based generator (core/rng.h).
Tensor rand(const Shape& shape, DType dtype = DType::F32);
Tensor randn(const Shape& shape, DType dtype = DType::F32);

template <class T>
T* Tensor::data() const {
  IAPT_CHECK(defined(), "data(): tensor is undefined");
  IAPT_CHECK(dtype_ == dtype_of<T>::value, "data<{}>(): tensor has dtype {}", dtype_name(dtype_of<T>::value),
             dtype_name(dtype_));
  return static_cast<T*>(storage_->data()) + offset_;
}

}  // namespace iapt
