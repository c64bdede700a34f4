// Composition root of the production executable: the command line, with no test hooks.
#include "app/cli.h"

int main(int argc, char** argv) { return fleetkeeper::app::RunCli(argc, argv, {}); }
