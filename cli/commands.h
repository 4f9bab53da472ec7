// The commands of migrationctl. Each reads its flags (cli/flags.h) and positional arguments from
// the Context, prints to ctx.out() (a table, or one JSON document with --json), and returns an
// error for cli/app.cc to print. cli/app.cc holds their usage, help and examples.
#ifndef CMIG_CLI_COMMANDS_H_
#define CMIG_CLI_COMMANDS_H_

#include "absl/status/status.h"
#include "cli/app.h"

namespace cmig::cli {

// Workflow operations (cli/workflow_commands.cc).
absl::Status StatusCommand(Context& ctx);
absl::Status HistoryCommand(Context& ctx);
absl::Status ListCommand(Context& ctx);
absl::Status RetryCommand(Context& ctx);
absl::Status RestartCommand(Context& ctx);
absl::Status TerminateCommand(Context& ctx);

// Offline packages (cli/package_commands.cc).
absl::Status TemplateCommand(Context& ctx);
absl::Status ExportCommand(Context& ctx);
absl::Status InspectCommand(Context& ctx);
absl::Status ImportCommand(Context& ctx);

}  // namespace cmig::cli

#endif  // CMIG_CLI_COMMANDS_H_
