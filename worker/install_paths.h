// Where an installed migration-worker finds what `cmake --install` put beside it, independent of
// where it was built:
//
//   ABSL_FLAG(std::string, workflows_dir, cmig::worker::DefaultWorkflowsDir(), "...");
#ifndef CMIG_WORKER_INSTALL_PATHS_H_
#define CMIG_WORKER_INSTALL_PATHS_H_

#include <string>

namespace cmig::worker {

// The migration workflows of this installation: <prefix>/share/cmig/workflows when the running
// binary is <prefix>/bin/migration-worker (or any binary one level below <prefix>) and that
// directory exists; otherwise /usr/local/share/cmig/workflows, the install script's prefix. Other
// places (a source tree, a build tree) are named with --workflows_dir.
std::string DefaultWorkflowsDir();

}  // namespace cmig::worker

#endif  // CMIG_WORKER_INSTALL_PATHS_H_
