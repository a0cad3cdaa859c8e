#pragma once
// A block of memory on one device, shared by every tensor that views it.
#include <cstddef>
#include <memory>

#include "core/dtype.h"

namespace iapt {

class Storage {
 public:
  // CPU memory is 64-byte aligned (BLAS and vectorised loops see aligned rows) and comes from
  // the caching allocator (core/cpu_allocator.h).
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  size_t capacity_ = 0;  // the allocator's rounded size
  Device device_;
};

std::shared_ptr<Storage> allocate_storage(size_t bytes, Device device);

}  // namespace iapt
