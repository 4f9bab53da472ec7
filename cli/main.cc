// migrationctl: the operator's command line for Conductor metadata migrations.
#include <iostream>

#include "cli/app.h"

int main(int argc, char** argv) {
  return cmig::cli::Run(argc, argv, std::cin, std::cout, std::cerr);
}
