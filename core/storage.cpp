#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/cpu_allocator.h"
#include "core/error.h"

namespace iapt {

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  IAPT_CHECK(device == Device::CPU, "Storage: device {} is not available in this build", device_name(device));
  data_ = cpu_allocate(bytes, &capacity_);
}

Storage::~Storage() { cpu_release(data_, capacity_); }

std::shared_ptr<Storage> allocate_storage(size_t bytes, Device device) {
  return std::make_shared<Storage>(bytes, device);
}

}  // namespace iapt
