#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/error.h"

namespace iapt {

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  IAPT_CHECK(device == Device::CPU, "Storage: device {} is not available in this build", device_name(device));
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  data_ = std::aligned_alloc(64, rounded);
  if (!data_) throw std::bad_alloc();
}

Storage::~Storage() { std::free(data_); }

std::shared_ptr<Storage> allocate_storage(size_t bytes, Device device) {
  return std::make_shared<Storage>(bytes, device);
}

}  // namespace iapt
