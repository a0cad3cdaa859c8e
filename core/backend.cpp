#include "core/backend.h"

#include "core/error.h"

namespace iapt {

namespace kernels::cpu {
const Backend& backend();
}

bool device_available(Device device) { return device == Device::CPU; }

const Backend& backend_for(Device device) {
  switch (device) {
    case Device::CPU: return kernels::cpu::backend();
    case Device::CUDA: break;
  }
  throw Error(fmt::format("no {} backend in this build", device_name(device)));
}

}  // namespace iapt
