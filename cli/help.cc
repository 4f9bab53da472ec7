// migrationctl's help: the list of commands, and one command's usage, flags and examples, all
// read from the command table and the flags' own help texts.
#include <ostream>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/app_internal.h"

namespace cmig::cli {
namespace {

void PrintFlag(const std::string& name, std::ostream& out) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr) return;
  std::string left = Dashed(name);
  if (!flag->IsOfType<bool>()) {
    absl::StrAppend(&left, " ",
                    absl::AsciiStrToUpper(name == "workflow" ? "name[@version]" : flag->Name()));
  }
  std::string help = flag->Help();
  std::string def = flag->DefaultValue();
  if (!def.empty() && def != "false" && def != "0") absl::StrAppend(&help, " [", def, "]");
  out << "  " << left;
  if (left.size() < 28) {
    out << std::string(28 - left.size(), ' ') << help << "\n";
  } else {
    out << "\n  " << std::string(28, ' ') << help << "\n";
  }
}

}  // namespace

void PrintCommandHelp(const Command& c, std::ostream& out) {
  out << "Usage: migrationctl " << c.name << (c.usage.empty() ? "" : " ") << c.usage
      << " [global flags]\n\n"
      << c.summary << ".\n";
  if (!c.description.empty()) out << c.description << "\n";
  if (!c.flags.empty()) {
    out << "\nFlags:\n";
    for (const std::string& f : c.flags) PrintFlag(f, out);
  }
  out << "\nGlobal flags:\n";
  if (!c.offline) {
    for (const std::string& f : ConnectionFlags()) PrintFlag(f, out);
  }
  PrintFlag("json", out);
  if (!c.examples.empty()) {
    out << "\nExamples:\n";
    for (const std::string& e : c.examples) out << "  " << e << "\n";
  }
}

void PrintTopHelp(std::ostream& out) {
  out << "migrationctl: start, watch, retry and audit Conductor metadata migrations, and carry "
         "them across an air gap as package files.\n\nUsage: migrationctl COMMAND [flags] "
         "[args]\n\nCommands:\n";
  for (const Command& c : Commands()) {
    out << "  " << c.name << std::string(c.name.size() < 18 ? 18 - c.name.size() : 1, ' ')
        << c.summary << "\n";
  }
  out << "\nGlobal flags:\n";
  for (const std::string& f : ConnectionFlags()) PrintFlag(f, out);
  PrintFlag("json", out);
  out << "\nThe token is read from --token-file or the environment variable CMIG_TOKEN, never "
         "from a flag.\nRun 'migrationctl COMMAND --help' for a command's flags and examples.\n"
         "Exit status: 0 success, 1 the operation failed, 2 a usage or config error.\n";
}

}  // namespace cmig::cli
