#pragma once
// Which backend kernels a program calls: when IAPT_KERNEL_RECORD names a file, the test runners
// (tests/main.cpp, tests/backend/parity_main.cpp) replace the CPU table with one whose every entry
// notes its kernel's name and calls the real kernel, and write the names called, one per line, to
// that file at exit. The kernel-coverage test (tests/autograd/test_kernel_coverage.cpp) runs the
// gradchecks and the parity cases this way and holds the result against core/backend_kernels.inc.
namespace iapt::testing {

// Call after kernels::register_backends(); does nothing unless IAPT_KERNEL_RECORD is set.
void record_kernels_if_asked();

}  // namespace iapt::testing
