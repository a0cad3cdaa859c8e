#include "core/storage.h"

#include "core/backend.h"

namespace iapt {

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  data_ = backend_for(device).allocate(bytes, &capacity_);
}

Storage::Storage(void* external, size_t bytes, Device device, std::shared_ptr<const void> owner)
    : data_(external), bytes_(bytes), owner_(std::move(owner)), device_(device) {}

Storage::~Storage() {
  if (!owner_) backend_for(device_).release(data_, capacity_);
}

std::shared_ptr<Storage> allocate_storage(size_t bytes, Device device) {
  return std::make_shared<Storage>(bytes, device);
}

}  // namespace iapt
