#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "kernels/backends.h"

int main(int argc, char** argv) {
  iapt::kernels::register_backends();
  return Catch::Session().run(argc, argv);
}
