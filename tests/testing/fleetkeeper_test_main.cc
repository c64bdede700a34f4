// `fleetkeeper-test`: the fleetkeeper command line with the test hooks the environment asks for
// (tests/testing/test_hooks.h). For tests only; the production executable (app/main.cc) has none.
#include "app/cli.h"
#include "tests/testing/test_hooks.h"

int main(int argc, char** argv) {
  fleetkeeper::app::EnvironmentFaults faults;
  return fleetkeeper::app::RunCli(argc, argv, fleetkeeper::app::HooksFromEnvironment(&faults));
}
