#include "core/backend.h"

#include "core/error.h"

namespace iapt {

namespace kernels::cpu {
const Backend& backend();
}
#ifdef IAPT_HAS_CUDA
namespace kernels::cuda {
const Backend& backend();
int visible_device_count();
}  // namespace kernels::cuda
#endif

bool cuda_compiled() {
#ifdef IAPT_HAS_CUDA
  return true;
#else
  return false;
#endif
}

bool device_available(Device device) {
  if (device == Device::CPU) return true;
#ifdef IAPT_HAS_CUDA
  return kernels::cuda::visible_device_count() > 0;
#else
  return false;
#endif
}

const Backend& backend_for(Device device) {
  switch (device) {
    case Device::CPU: return kernels::cpu::backend();
    case Device::CUDA:
#ifdef IAPT_HAS_CUDA
      IAPT_CHECK(kernels::cuda::visible_device_count() > 0, "cuda: this build has the CUDA backend, but no GPU is visible");
      return kernels::cuda::backend();
#else
      break;
#endif
  }
  throw Error(fmt::format("no {} backend in this build (configure with nvcc present, or -DIAPT_CUDA=ON)",
                          device_name(device)));
}

}  // namespace iapt
