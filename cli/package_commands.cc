#include "cli/commands.h"

namespace cmig::cli {
absl::Status TemplateCommand(Context&) { return absl::UnimplementedError("template"); }
absl::Status ExportCommand(Context&) { return absl::UnimplementedError("export"); }
absl::Status InspectCommand(Context&) { return absl::UnimplementedError("inspect"); }
absl::Status ImportCommand(Context&) { return absl::UnimplementedError("import"); }
}  // namespace cmig::cli
