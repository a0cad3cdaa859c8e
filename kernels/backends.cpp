#include "kernels/backends.h"

#include "core/backend.h"

namespace iapt::kernels {

namespace cpu {
const Backend& backend();
}
#ifdef IAPT_HAS_CUDA
namespace cuda {
const Backend& backend();
}
#endif

void register_backends() {
  register_backend(Device::CPU, cpu::backend());
#ifdef IAPT_HAS_CUDA
  register_backend(Device::CUDA, cuda::backend());
#endif
}

}  // namespace iapt::kernels
