// The test programs' main: Catch2's, after the hook that lets the runner
// start containers from a test binary (its init is this binary again).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "runner/container_init.h"

int main(int argc, char** argv) {
  bld::runner::RunContainerInitIfRequested(argc, argv);
  return Catch::Session().run(argc, argv);
}
