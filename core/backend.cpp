#include "core/backend.h"

#include <array>

#include "core/error.h"

namespace iapt {

namespace {

// One slot per Device value. Filled before any tensor exists (kernels/backends.h), read after.
std::array<const Backend*, 2>& registered() {
  static std::array<const Backend*, 2> tables{};
  return tables;
}

const Backend* find(Device device) { return registered()[static_cast<size_t>(device)]; }

}  // namespace

const std::vector<KernelName>& backend_kernel_names() {
  static const std::vector<KernelName> names{
#define IAPT_KERNEL(name, parameters) {#name, false},
#define IAPT_FUSED_KERNEL(name, parameters) {#name, true},
#include "core/backend_kernels.inc"
#undef IAPT_KERNEL
#undef IAPT_FUSED_KERNEL
  };
  return names;
}

void register_backend(Device device, const Backend& table) {
#define IAPT_KERNEL(kernel, parameters)                                                                    \
  IAPT_CHECK(table.kernel != nullptr, "backend '{}': no kernel for '{}', which every backend fills", table.name, \
             #kernel);
#define IAPT_FUSED_KERNEL(name, parameters)
#include "core/backend_kernels.inc"
#undef IAPT_KERNEL
#undef IAPT_FUSED_KERNEL
  registered()[static_cast<size_t>(device)] = &table;
}

bool cuda_compiled() { return find(Device::CUDA) != nullptr; }

bool device_available(Device device) {
  const Backend* table = find(device);
  return table != nullptr && table->device_count() > 0;
}

const Backend& backend_for(Device device) {
  const Backend* table = find(device);
  if (table == nullptr) {
    if (device == Device::CPU || find(Device::CPU) == nullptr)
      throw Error("no backend is registered: a program calls iapt::kernels::register_backends() "
                  "(kernels/backends.h) before it makes a tensor");
    throw Error(fmt::format("no {} backend in this build (configure with nvcc present, or -DIAPT_CUDA=ON)",
                            device_name(device)));
  }
  if (device != Device::CPU)
    IAPT_CHECK(table->device_count() > 0, "{}: this build has the {} backend, but no GPU is visible", table->name,
               device_name(device));
  return *table;
}

AllocatorStats allocator_stats(Device device) { return backend_for(device).allocator_stats(); }
void reset_allocator_peak(Device device) { backend_for(device).reset_allocator_peak(); }
void empty_allocator_cache(Device device) { backend_for(device).empty_allocator_cache(); }

}  // namespace iapt
