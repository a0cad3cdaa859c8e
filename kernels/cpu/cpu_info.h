#pragma once
// What a CPU run's last bits depend on besides its config and thread count.
#include <string>

namespace iapt::kernels::cpu {

// The processor's model name (/proc/cpuinfo) and the BLAS kernel set OpenBLAS chose for it at load
// ("AMD EPYC; OpenBLAS Zen"). Another kernel set rounds products differently, and through training
// a run with the same seed then ends elsewhere: a rerun matches bit for bit only where this matches.
std::string cpu_description();
// The name of the kernels OpenBLAS chose as it loaded ("SkylakeX", "Haswell", "Prescott", ...).
std::string blas_core();

}  // namespace iapt::kernels::cpu
