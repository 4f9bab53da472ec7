#include "cli/app.h"

#include <cstdlib>
#include <utility>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/output.h"

namespace cmig::cli {
namespace {

constexpr char kDefaultServer[] = "127.0.0.1:8090";
constexpr char kUsagePayload[] = "cmig.cli/usage";

const std::vector<std::string>& ConnectionFlags() {
  static const auto* flags =
      new std::vector<std::string>{"server", "token_file", "tls", "tls_ca_file", "timeout"};
  return *flags;
}

std::string Dashed(absl::string_view flag) {
  return absl::StrCat("--", absl::StrReplaceAll(flag, {{"_", "-"}}));
}

std::vector<Command> BuildCommands() {
  std::vector<Command> c;
  c.push_back({
      .name = "status",
      .summary = "show a migration workflow's status and its steps",
      .usage = "ID",
      .description = "Prints the workflow's type, status, reason and the latest attempt of "
                     "every step. Works for outgoing and incoming migrations, and for any other "
                     "workflow on the server.",
      .examples = {"migrationctl status 3f1c2a9e-...", "migrationctl status 3f1c2a9e-... --json"},
      .min_args = 1,
      .max_args = 1,
      .run = StatusCommand,
  });
  c.push_back({
      .name = "history",
      .summary = "every attempt of every step of a migration, with logs on request",
      .usage = "ID [--logs]",
      .description =
          "One row per task attempt: step, reference, status, attempt (retry count), worker, "
          "start, duration and reason. --logs adds each attempt's log lines.",
      .flags = {"logs"},
      .examples = {"migrationctl history 3f1c2a9e-...",
                   "migrationctl history 3f1c2a9e-... --logs --json"},
      .min_args = 1,
      .max_args = 1,
      .run = HistoryCommand,
  });
  c.push_back({
      .name = "list",
      .summary = "recent migrations (outgoing and incoming) and their status",
      .usage = "[--limit N] [--status STATUS]",
      .description = "Searches the server for outgoing_migration_request and "
                     "incoming_migration_request workflows, newest first.",
      .flags = {"limit", "status"},
      .examples = {"migrationctl list", "migrationctl list --status FAILED --limit 5"},
      .run = ListCommand,
  });
  c.push_back({
      .name = "retry",
      .summary = "re-run a failed migration from its failed step",
      .usage = "ID",
      .description = "Steps that completed are kept; the failed step runs again with a new "
                     "attempt.",
      .examples = {"migrationctl retry 3f1c2a9e-..."},
      .min_args = 1,
      .max_args = 1,
      .run = RetryCommand,
  });
  c.push_back({
      .name = "restart",
      .summary = "run an ended migration again from its first step",
      .usage = "ID [--use-latest-definitions]",
      .flags = {"use_latest_definitions"},
      .examples = {"migrationctl restart 3f1c2a9e-..."},
      .min_args = 1,
      .max_args = 1,
      .run = RestartCommand,
  });
  c.push_back({
      .name = "terminate",
      .summary = "stop a running migration",
      .usage = "ID [--reason TEXT]",
      .description = "An incoming migration that already changed the target is rolled back by "
                     "its failure workflow.",
      .flags = {"reason"},
      .examples = {"migrationctl terminate 3f1c2a9e-... --reason 'wrong target'"},
      .min_args = 1,
      .max_args = 1,
      .run = TerminateCommand,
  });
  c.push_back({
      .name = "migrate",
      .summary = "migrate definitions from this server to a target environment",
      .usage =
          "--target ENV --workflow NAME[@VERSION]... --task NAME... [--all-workflows] "
          "[--conflict-strategy fail|skip|update] [--version-strategy preserve|new-version] "
          "[--include-secrets] [--require-task-definitions] [--on-blocked fail|skip] [--dry-run] "
          "[--wait]",
      .description =
          "Starts outgoing_migration_request on --server (the source). Its worker fetches the "
          "selection and everything it references, builds the package, pushes it to the target "
          "and verifies it there. With --wait, prints each step as it runs (step, status, "
          "attempt, elapsed) and ends with the report; exits 1 with the reason when the "
          "migration fails. --workflow and --task repeat. A worker task whose task definition "
          "the source does not hold migrates as Conductor runs it, with a default task "
          "definition, and the report lists it; --require-task-definitions blocks it instead. "
          "With --on-blocked skip, a conflict or missing dependency leaves out what it affects "
          "(every workflow that depends on it) and the rest migrates; the report says why, "
          "item by item.",
      .flags = {"target", "source", "workflow", "task", "all_workflows", "conflict_strategy",
                "version_strategy", "include_secrets", "skip_discovery", "require_task_definitions",
                "on_blocked", "dry_run", "wait", "poll_interval", "wait_timeout"},
      .examples = {"migrationctl migrate --target prod --workflow order_flow --dry-run --wait",
                   "migrationctl migrate --target prod --workflow order_flow@3 --workflow "
                   "refund_flow --task charge_card --conflict-strategy update --wait",
                   "migrationctl migrate --target test --all-workflows --version-strategy "
                   "new-version --json"},
      .run = MigrateCommand,
  });
  c.push_back({
      .name = "env add",
      .summary = "define (or replace) an environment migrations can target",
      .usage = "ID --address HOST:PORT [--use-tls] [--root-ca-file FILE] [--token-secret NAME]",
      .description = "Stored in --server's environment registry. The token is not given here: "
                     "store it with 'secret put NAME' and name that secret.",
      .flags = {"address", "use_tls", "root_ca_file", "token_secret"},
      .examples = {"migrationctl env add prod --address prod-conductor:8090 --use-tls "
                   "--token-secret prod-token"},
      .min_args = 1,
      .max_args = 1,
      .run = EnvAddCommand,
  });
  c.push_back({
      .name = "env list",
      .summary = "the environments migrations can target",
      .examples = {"migrationctl env list", "migrationctl env list --json"},
      .run = EnvListCommand,
  });
  c.push_back({
      .name = "env remove",
      .summary = "forget an environment",
      .usage = "ID",
      .examples = {"migrationctl env remove staging"},
      .min_args = 1,
      .max_args = 1,
      .run = EnvRemoveCommand,
  });
  c.push_back({
      .name = "secret put",
      .summary = "store a secret (a target's token, a secret definitions reference)",
      .usage = "NAME [--from-file FILE]",
      .description = "The value is read from standard input, or from --from-file; never from the "
                     "command line. One trailing newline is dropped.",
      .flags = {"from_file"},
      .examples = {"migrationctl secret put prod-token < ~/prod.token",
                   "migrationctl secret put prod-token --from-file ~/prod.token"},
      .min_args = 1,
      .max_args = 1,
      .run = SecretPutCommand,
  });
  c.push_back({
      .name = "secret list",
      .summary = "the names of the stored secrets (never their values)",
      .examples = {"migrationctl secret list"},
      .run = SecretListCommand,
  });
  c.push_back({
      .name = "secret delete",
      .summary = "delete a secret",
      .usage = "NAME",
      .examples = {"migrationctl secret delete old-token"},
      .min_args = 1,
      .max_args = 1,
      .run = SecretDeleteCommand,
  });
  c.push_back({
      .name = "definitions load",
      .summary = "register the Conductor JSON definitions in a folder with --server",
      .usage = "DIR",
      .description = "Reads every *.json file under DIR (workflow definitions, task definitions "
                     "or arrays of them, in Conductor's JSON as its UI exports it), then creates "
                     "what the server lacks and updates what differs; identical definitions are "
                     "left untouched. A file that does not parse stops the command before "
                     "anything is written.",
      .examples = {"migrationctl definitions load ./conductor-defs --server dev:8090"},
      .min_args = 1,
      .max_args = 1,
      .run = DefinitionsLoadCommand,
  });
  c.push_back({
      .name = "definitions list",
      .summary = "every workflow definition version and task definition on --server",
      .description = "Needs the listing extension of the embedded orchestrator; a Conductor "
                     "server without it is named in the error.",
      .examples = {"migrationctl definitions list --server prod:8090 --json"},
      .run = DefinitionsListCommand,
  });
  c.push_back({
      .name = "template",
      .summary = "write a commented export config to fill in",
      .usage = "[--output FILE] [--overwrite]",
      .description = "The config is a text protobuf (cmig.v1.ExportConfig, '#' starts a "
                     "comment): the source server, the selection, discovery, secrets and "
                     "import options. Without --output it goes to stdout.",
      .flags = {"output", "overwrite"},
      .examples = {"migrationctl template --output export.textproto"},
      .run = TemplateCommand,
      .offline = true,
  });
  c.push_back({
      .name = "export",
      .summary = "build a migration package file from the source server",
      .usage = "--config FILE --output PACKAGE [--overwrite]",
      .description =
          "Fetches the selected definitions from the config's source server, follows their "
          "references (unless discovery is off) and writes the same package an online "
          "migration pushes. The connection flags override the config's source.",
      .flags = {"config", "output", "overwrite"},
      .examples = {"migrationctl export --config export.textproto --output orders.cmigpkg.json"},
      .run = ExportCommand,
  });
  c.push_back({
      .name = "inspect",
      .summary = "summarise a package file and check its digests",
      .usage = "PACKAGE",
      .description = "Exits 1 naming the item (or the package digest) that does not match.",
      .examples = {"migrationctl inspect orders.cmigpkg.json"},
      .min_args = 1,
      .max_args = 1,
      .run = InspectCommand,
      .offline = true,
  });
  c.push_back({
      .name = "import",
      .summary = "apply a package file to a target server (incoming_migration_request)",
      .usage = "--input PACKAGE --server ADDR [--conflict-strategy fail|skip|update] "
               "[--version-strategy preserve|new-version] [--on-blocked fail|skip] [--dry-run] "
               "[--wait]",
      .description = "Checks the package, then starts incoming_migration_request on the "
                     "server with it. With --wait, shows the steps as they run and ends with the "
                     "report; exits 1 when the import fails.",
      .flags = {"input", "conflict_strategy", "version_strategy", "on_blocked", "dry_run", "wait",
                "poll_interval", "wait_timeout", "target"},
      .examples = {"migrationctl import --input orders.cmigpkg.json --server prod:8090 "
                   "--token-file ~/.cmig/prod.token --dry-run --wait",
                   "migrationctl import --input orders.cmigpkg.json --server prod:8090 "
                   "--conflict-strategy update --wait"},
      .run = ImportCommand,
  });
  return c;
}

// Parsed command line of one command.
struct ParsedArgs {
  std::vector<std::string> positional;
  std::set<std::string> given;
  bool help = false;
};

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

const Command* FindCommand(absl::string_view name) {
  for (const Command& c : Commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// Subcommands of a group ("env" -> "add, list, remove"); empty when `word` is no group.
std::vector<std::string> GroupMembers(absl::string_view word) {
  std::vector<std::string> members;
  for (const Command& c : Commands()) {
    if (absl::StartsWith(c.name, absl::StrCat(word, " "))) {
      members.push_back(c.name.substr(word.size() + 1));
    }
  }
  return members;
}

absl::StatusOr<GlobalOptions> BuildGlobalOptions(const Command& command) {
  GlobalOptions g;
  g.json = absl::GetFlag(FLAGS_json);
  g.server = absl::GetFlag(FLAGS_server);
  if (g.server.empty()) {
    const char* env = std::getenv("CMIG_SERVER");
    g.server = env != nullptr && *env != '\0' ? env : kDefaultServer;
  }
  g.tls = absl::GetFlag(FLAGS_tls);
  g.tls_ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  g.timeout = absl::GetFlag(FLAGS_timeout);
  if (g.timeout <= absl::ZeroDuration()) {
    return UsageError("--timeout must be positive");
  }
  if (command.offline) return g;
  std::string token_file = absl::GetFlag(FLAGS_token_file);
  if (!token_file.empty()) {
    absl::StatusOr<std::string> token = client::ReadTokenFile(token_file);
    if (!token.ok()) {
      return UsageError(absl::StrCat("cannot use --token-file: ", token.status().message()));
    }
    g.token = *std::move(token);
    g.token_origin = absl::StrCat("token from --token-file ", token_file);
  } else if (const char* env = std::getenv("CMIG_TOKEN"); env != nullptr && *env != '\0') {
    g.token = std::string(absl::StripAsciiWhitespace(env));
    g.token_origin = "token from CMIG_TOKEN";
  } else {
    g.token_origin = "no token was given: set --token-file or CMIG_TOKEN";
  }
  return g;
}

// The message a person reads: what failed, where, and what to check.
std::string Explain(const absl::Status& s, const GlobalOptions& g) {
  std::string msg(s.message());
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
      return absl::StrCat("cannot reach the server at ", g.server,
                          " (is it running? check --server or CMIG_SERVER): ", msg);
    case absl::StatusCode::kDeadlineExceeded:
      return absl::StrCat("the server at ", g.server, " did not answer within ",
                          absl::FormatDuration(g.timeout), " (raise --timeout?): ", msg);
    case absl::StatusCode::kUnauthenticated:
      return absl::StrCat("the server at ", g.server, " rejected the token (", g.token_origin,
                          "): ", msg);
    case absl::StatusCode::kPermissionDenied:
      return absl::StrCat("the server at ", g.server, " does not allow this with the token (",
                          g.token_origin, "): ", msg);
    default:
      return msg;
  }
}

std::string CodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  return absl::AsciiStrToUpper(absl::StrReplaceAll(name, {{" ", "_"}}));
}

int Fail(const absl::Status& s, const GlobalOptions& g, bool json, bool json_printed,
         std::ostream& out, std::ostream& err) {
  std::string message = Explain(s, g);
  err << "migrationctl: " << message << "\n";
  if (json && !json_printed) {
    JsonObject e;
    e.Set("code", JsonString(CodeName(s.code()))).Set("message", JsonString(message));
    JsonObject doc;
    doc.Set("error", e.Take());
    PrintJson(doc.value(), out);
  }
  return IsUsageError(s) ? kExitUsage : kExitFailure;
}

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status s = absl::InvalidArgumentError(message);
  s.SetPayload(kUsagePayload, absl::Cord("1"));
  return s;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

Context::Context(GlobalOptions global, std::vector<std::string> args,
                 std::set<std::string> given_flags, std::istream& in, std::ostream& out,
                 std::ostream& err)
    : global_(std::move(global)),
      args_(std::move(args)),
      given_flags_(std::move(given_flags)),
      in_(in),
      out_(out),
      err_(err),
      address_(global_.server) {}

Context::~Context() = default;

client::ClientOptions Context::ServerOptions() const {
  client::ClientOptions o;
  o.address = global_.server;
  o.token = global_.token;
  o.use_tls = global_.tls;
  o.root_ca_file = global_.tls_ca_file;
  o.call_timeout = global_.timeout;
  return o;
}

absl::StatusOr<client::GrpcOrchestratorClient*> Context::Orchestrator() {
  if (orchestrator_ == nullptr) {
    ASSIGN_OR_RETURN(orchestrator_, client::GrpcOrchestratorClient::Create(ServerOptions()));
  }
  return orchestrator_.get();
}

absl::StatusOr<client::GrpcExtensionsClient*> Context::Extensions() {
  if (extensions_ == nullptr) {
    ASSIGN_OR_RETURN(extensions_, client::GrpcExtensionsClient::Create(ServerOptions()));
  }
  return extensions_.get();
}

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>(BuildCommands());
  return *commands;
}

int Run(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty()) {
    PrintTopHelp(err);
    return kExitUsage;
  }
  if (words[0] == "help" || words[0] == "--help" || words[0] == "-h") {
    if (words.size() > 1) {
      std::string name = words[1];
      if (words.size() > 2) name = absl::StrCat(words[1], " ", words[2]);
      const Command* c = FindCommand(name);
      if (c == nullptr) c = FindCommand(words[1]);
      if (c != nullptr) {
        PrintCommandHelp(*c, out);
        return kExitOk;
      }
    }
    PrintTopHelp(out);
    return kExitOk;
  }
  const Command* command = nullptr;
  size_t consumed = 1;
  std::vector<std::string> members = GroupMembers(words[0]);
  if (!members.empty()) {
    if (words.size() >= 2) command = FindCommand(absl::StrCat(words[0], " ", words[1]));
    if (command == nullptr) {
      bool help = words.size() >= 2 && (words[1] == "--help" || words[1] == "-h");
      (help ? out : err) << "Usage: migrationctl " << words[0] << " " << absl::StrJoin(members, "|")
                         << " ...\n";
      for (const std::string& m : members) {
        const Command* c = FindCommand(absl::StrCat(words[0], " ", m));
        (help ? out : err) << "  " << c->name << " " << c->usage << "\n      " << c->summary
                           << "\n";
      }
      return help ? kExitOk : kExitUsage;
    }
    consumed = 2;
  } else {
    command = FindCommand(words[0]);
  }
  GlobalOptions fallback;
  fallback.server = absl::GetFlag(FLAGS_server);
  if (command == nullptr) {
    err << "migrationctl: unknown command '" << words[0]
        << "'; run 'migrationctl help' for the list\n";
    return kExitUsage;
  }
  std::vector<std::string> rest(words.begin() + static_cast<std::ptrdiff_t>(consumed), words.end());
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(*command, rest);
  // --json may already be set when a later flag failed to parse.
  bool json = absl::GetFlag(FLAGS_json);
  if (!parsed.ok()) return Fail(parsed.status(), fallback, json, false, out, err);
  if (parsed->help) {
    PrintCommandHelp(*command, out);
    return kExitOk;
  }
  int n = static_cast<int>(parsed->positional.size());
  if (n < command->min_args || (command->max_args >= 0 && n > command->max_args)) {
    std::string what = n < command->min_args ? "missing arguments" : "too many arguments";
    if (n > command->max_args) {
      what = absl::StrCat("unexpected argument '", parsed->positional[command->max_args], "'");
    }
    return Fail(UsageError(absl::StrCat(what, "; usage: migrationctl ", command->name, " ",
                                        command->usage)),
                fallback, json, false, out, err);
  }
  absl::StatusOr<GlobalOptions> global = BuildGlobalOptions(*command);
  if (!global.ok()) return Fail(global.status(), fallback, json, false, out, err);
  Context ctx(*global, std::move(parsed->positional), std::move(parsed->given), in, out, err);
  absl::Status s = command->run(ctx);
  if (s.ok()) return kExitOk;
  GlobalOptions where = ctx.global();
  where.server = ctx.address();
  return Fail(s, where, ctx.json(), ctx.json_printed(), out, err);
}

}  // namespace cmig::cli
