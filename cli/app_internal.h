// The parts of migrationctl's runner (cli/app.cc) that live in files of their own: the command
// table (cli/command_table.cc), the argument parser (cli/arguments.cc) and the help
// (cli/help.cc). Private to cli/.
#ifndef CMIG_CLI_APP_INTERNAL_H_
#define CMIG_CLI_APP_INTERNAL_H_

#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/app.h"

namespace cmig::cli {

// The flags every command that talks to a server takes.
const std::vector<std::string>& ConnectionFlags();

// "token_file" -> "--token-file".
std::string Dashed(absl::string_view flag);

// The command named `name` ("env add"), or nullptr.
const Command* FindCommand(absl::string_view name);

// Subcommands of a group ("env" -> "add, list, remove"); empty when `word` is no group.
std::vector<std::string> GroupMembers(absl::string_view word);

// Parsed command line of one command.
struct ParsedArgs {
  std::vector<std::string> positional;
  std::set<std::string> given;
  bool help = false;
};

// Sets the flags `in` gives (those of `command`, --json and, unless it works offline, the
// connection flags) and collects the positional arguments. A usage error (UsageError) for a flag
// the command does not take, naming the commands that do, or for a missing or bad value.
absl::StatusOr<ParsedArgs> ParseArgs(const Command& command, const std::vector<std::string>& in);

void PrintCommandHelp(const Command& c, std::ostream& out);
void PrintTopHelp(std::ostream& out);

}  // namespace cmig::cli

#endif  // CMIG_CLI_APP_INTERNAL_H_
