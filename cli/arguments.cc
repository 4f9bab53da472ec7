// Reading one command's command line: flags it takes (with --no-FLAG for booleans and repeated
// list flags), positional arguments and --help, with usage errors that say what to do instead.
#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "cli/app_internal.h"

namespace cmig::cli {

const std::vector<std::string>& ConnectionFlags() {
  static const auto* flags =
      new std::vector<std::string>{"server", "token_file", "tls", "tls_ca_file", "timeout"};
  return *flags;
}

std::string Dashed(absl::string_view flag) {
  return absl::StrCat("--", absl::StrReplaceAll(flag, {{"_", "-"}}));
}

absl::StatusOr<ParsedArgs> ParseArgs(const Command& command, const std::vector<std::string>& in) {
  std::vector<std::string> allowed = command.flags;
  allowed.push_back("json");
  if (!command.offline) {
    allowed.insert(allowed.end(), ConnectionFlags().begin(), ConnectionFlags().end());
  }
  auto is_allowed = [&](const std::string& name) {
    return std::find(allowed.begin(), allowed.end(), name) != allowed.end();
  };
  // Values of list flags accumulate over repetitions (--workflow a --workflow b).
  std::map<std::string, std::vector<std::string>> lists;
  ParsedArgs out;
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string& token = in[i];
    if (token == "--") {
      out.positional.insert(out.positional.end(), in.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                            in.end());
      break;
    }
    if (token.size() < 2 || token[0] != '-') {
      out.positional.push_back(token);
      continue;
    }
    absl::string_view body = absl::StripPrefix(absl::StripPrefix(token, "-"), "-");
    std::string name(body.substr(0, body.find('=')));
    absl::StrReplaceAll({{"-", "_"}}, &name);
    std::optional<std::string> value;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      value = std::string(body.substr(eq + 1));
    }
    if (name == "help" || name == "h") {
      out.help = true;
      continue;
    }
    bool negated = false;
    if (!is_allowed(name) && absl::StartsWith(name, "no") && is_allowed(name.substr(2))) {
      absl::CommandLineFlag* f = absl::FindCommandLineFlag(name.substr(2));
      if (f != nullptr && f->IsOfType<bool>() && !value.has_value()) {
        negated = true;
        name = name.substr(2);
      }
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || !is_allowed(name)) {
      std::vector<std::string> takers;
      for (const Command& c : Commands()) {
        if (std::find(c.flags.begin(), c.flags.end(), name) != c.flags.end()) {
          takers.push_back(c.name);
        }
      }
      if (flag != nullptr && !takers.empty()) {
        return UsageError(absl::StrCat("'", command.name, "' does not take ", Dashed(name),
                                       "; it is a flag of: ", absl::StrJoin(takers, ", "),
                                       " (see 'migrationctl ", command.name, " --help')"));
      }
      if (flag != nullptr && command.offline) {
        return UsageError(
            absl::StrCat("'", command.name, "' works offline and does not take ", Dashed(name)));
      }
      return UsageError(
          absl::StrCat("unknown flag ", token, "; see 'migrationctl ", command.name, " --help'"));
    }
    out.given.insert(name);
    if (flag->IsOfType<bool>()) {
      if (!value.has_value()) value = negated ? "false" : "true";
    } else if (!value.has_value()) {
      if (i + 1 >= in.size()) {
        return UsageError(absl::StrCat(Dashed(name), " needs a value"));
      }
      value = in[++i];
    }
    if (flag->IsOfType<std::vector<std::string>>()) {
      lists[name].push_back(*value);
      continue;
    }
    std::string error;
    if (!flag->ParseFrom(*value, &error)) {
      return UsageError(absl::StrCat("bad value '", *value, "' for ", Dashed(name), ": ", error));
    }
  }
  for (const auto& [name, values] : lists) {
    std::string error;
    if (!absl::FindCommandLineFlag(name)->ParseFrom(absl::StrJoin(values, ","), &error)) {
      return UsageError(absl::StrCat("bad value for ", Dashed(name), ": ", error));
    }
  }
  return out;
}

}  // namespace cmig::cli
