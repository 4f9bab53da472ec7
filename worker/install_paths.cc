#include "worker/install_paths.h"

#include <filesystem>
#include <system_error>

namespace cmig::worker {

std::string DefaultWorkflowsDir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  // Linux names the running binary here, whatever the current directory or argv[0].
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside = self.parent_path().parent_path() / "share" / "cmig" / "workflows";
    if (fs::is_directory(beside, ec)) return beside.string();
  }
  return "/usr/local/share/cmig/workflows";
}

}  // namespace cmig::worker
