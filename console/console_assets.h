// The console's files, compiled in (console/CMakeLists.txt): the orchestrator serves them under
// /console/ with a strict Content-Security-Policy. They hold no data: every figure on the page
// comes from the REST API, with the operator's token.
#ifndef CMIG_CONSOLE_CONSOLE_ASSETS_H_
#define CMIG_CONSOLE_CONSOLE_ASSETS_H_

#include <vector>

#include "absl/strings/string_view.h"

namespace cmig::console {

struct ConsoleAsset {
  absl::string_view name;  // "index.html"
  absl::string_view content_type;
  absl::string_view bytes;
};

// Every file of the console, in a fixed order.
const std::vector<ConsoleAsset>& ConsoleAssets();

}  // namespace cmig::console

#endif  // CMIG_CONSOLE_CONSOLE_ASSETS_H_
