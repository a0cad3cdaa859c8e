#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "kernels/backends.h"
#include "tests/kernel_recorder.h"

int main(int argc, char** argv) {
  iapt::kernels::restart_if_blas_misdetects_cpu(argv);
  iapt::kernels::register_backends();
  iapt::testing::record_kernels_if_asked();
  return Catch::Session().run(argc, argv);
}
