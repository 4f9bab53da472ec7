// migrationctl's command dispatch, global options and the context every command runs in.
//
//   int main(int argc, char** argv) {
//     return cmig::cli::Run(argc, argv, std::cin, std::cout, std::cerr);
//   }
//
// argv[1] names the command ("status", "env add", ...); the rest are its flags and positional
// arguments. Each command accepts the global flags and its own; any other flag is an error that
// says which commands take it. `--help` (or `migrationctl help CMD`) prints a command's usage,
// flags and examples.
//
// Exit status: 0 success; 1 the operation failed (server error, failed migration, digest
// mismatch, ...); 2 the command line or a config file is wrong. Errors go to stderr as one line
// naming what failed and what to do; with --json a failing command also prints
// {"error": {"code": ..., "message": ...}} on stdout unless it already printed its document.
#ifndef CMIG_CLI_APP_H_
#define CMIG_CLI_APP_H_

#include <istream>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/extensions_client.h"
#include "client/grpc_client.h"

namespace cmig::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string server;
  // The bearer token (a secret: never printed) and where it came from, for error messages.
  std::string token;
  std::string token_origin;
  bool tls = false;
  std::string tls_ca_file;
  absl::Duration timeout = absl::Seconds(10);
  bool json = false;
};

// An InvalidArgument that exits with kExitUsage: the person typed something wrong.
absl::Status UsageError(absl::string_view message);

// Who runs this command, for the record of what they start: "user@host" (the login name of the
// process's user, else $USER; the host name), or what of it can be known.
std::string OperatorName();
bool IsUsageError(const absl::Status& status);

// What a command sees. Owns the clients it creates; single-threaded.
class Context {
 public:
  Context(GlobalOptions global, std::vector<std::string> args, std::set<std::string> given_flags,
          std::istream& in, std::ostream& out, std::ostream& err);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const GlobalOptions& global() const { return global_; }
  bool json() const { return global_.json; }
  // Positional arguments after the command name.
  const std::vector<std::string>& args() const { return args_; }
  std::istream& in() { return in_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // Whether the command line set flag `name` (Abseil name), as opposed to its default.
  bool flag_given(const std::string& name) const { return given_flags_.contains(name); }

  // Options reaching --server with the global token and TLS settings.
  client::ClientOptions ServerOptions() const;

  // The client for --server, created on first use (creation does not connect).
  absl::StatusOr<client::GrpcOrchestratorClient*> Orchestrator();
  // The extension services (environments, secrets, package store) of --server.
  absl::StatusOr<client::GrpcExtensionsClient*> Extensions();

  // The server the command talks to, for error messages: --server unless the command chose
  // another (export reads from its config's source).
  const std::string& address() const { return address_; }
  void set_address(std::string address) { address_ = std::move(address); }

  // Marks that the command printed its JSON document, so a failure is not printed again as a
  // second document.
  void MarkJsonPrinted() { json_printed_ = true; }
  bool json_printed() const { return json_printed_; }

 private:
  const GlobalOptions global_;
  const std::vector<std::string> args_;
  const std::set<std::string> given_flags_;
  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<client::GrpcOrchestratorClient> orchestrator_;
  std::unique_ptr<client::GrpcExtensionsClient> extensions_;
  bool json_printed_ = false;
  std::string address_;
};

using CommandFn = absl::Status (*)(Context&);

struct Command {
  // "status", "env add".
  std::string name;
  std::string summary;
  // Arguments after the name, e.g. "ID [--logs]".
  std::string usage;
  // Paragraphs after the usage line.
  std::string description;
  // Flags beyond the global ones, by their Abseil names.
  std::vector<std::string> flags;
  std::vector<std::string> examples;
  int min_args = 0;
  int max_args = 0;
  CommandFn run = nullptr;
  // Commands that never talk to a server (template, inspect) do not list the connection flags.
  bool offline = false;
};

// Every command, in the order the top-level help lists them.
const std::vector<Command>& Commands();

// Parses, dispatches, prints errors; returns the exit status. Call once per process (flags are
// process-wide).
int Run(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace cmig::cli

#endif  // CMIG_CLI_APP_H_
