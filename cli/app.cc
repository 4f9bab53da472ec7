// migrationctl's runner: picks the command, parses its arguments (cli/arguments.cc), builds
// the connection options, runs it and turns its error into a message and an exit status.
#include "cli/app.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "cli/app_internal.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/output.h"

namespace cmig::cli {
namespace {

constexpr char kDefaultServer[] = "127.0.0.1:8090";
constexpr char kUsagePayload[] = "cmig.cli/usage";

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
  // Messages quote what they reject (a package's names, a file's bytes): shown, never obeyed.
  err << "migrationctl: " << TerminalSafe(message, /*keep_newlines=*/true) << "\n";
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

std::string OperatorName() {
  std::string user;
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 &&
      found != nullptr && found->pw_name != nullptr) {
    user = found->pw_name;
  } else if (const char* env = std::getenv("USER"); env != nullptr) {
    user = env;
  }
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  if (user.empty()) return host;
  return host[0] == '\0' ? user : absl::StrCat(user, "@", host);
}

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
