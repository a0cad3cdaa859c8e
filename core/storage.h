#pragma once
// A block of memory on one device, shared by every tensor that views it.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/dtype.h"

namespace iapt {

class Storage {
 public:
  // Memory comes from the device's backend: on the CPU the caching allocator of
  // core/cpu_allocator.h (64-byte aligned), on CUDA the caching device allocator.
  Storage(size_t bytes, Device device);
  // Memory owned elsewhere (a memory-mapped file): `owner` keeps it alive as long as this storage.
  Storage(void* external, size_t bytes, Device device, std::shared_ptr<const void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  // Counts in-place writes (Tensor::copy_ and fill_, the optimizers' steps). Autograd notes it when
  // an op records its node and compares before that node's backward runs, so a tensor changed
  // after an op saved it is an error instead of a wrong gradient.
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  size_t capacity_ = 0;  // the allocator's rounded size
  std::shared_ptr<const void> owner_;  // set for external memory, which is not the allocator's
  Device device_;
  uint64_t version_ = 0;
};

std::shared_ptr<Storage> allocate_storage(size_t bytes, Device device);

}  // namespace iapt
