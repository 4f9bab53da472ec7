#include "cli/options.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace cmig::cli {
namespace {

// Collects the first syntax error with its position.
class ErrorCollector final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (errors_.empty()) errors_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& error() const { return errors_; }

 private:
  std::string errors_;
};

}  // namespace

absl::StatusOr<v1::ConflictStrategy> ParseConflictStrategy(absl::string_view text,
                                                           absl::string_view field) {
  std::string t = absl::AsciiStrToLower(text);
  if (t.empty() || t == "fail") return v1::CONFLICT_STRATEGY_FAIL;
  if (t == "skip") return v1::CONFLICT_STRATEGY_SKIP;
  if (t == "update") return v1::CONFLICT_STRATEGY_UPDATE;
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": '", text, "' is not a conflict strategy (fail, skip or update)"));
}

absl::StatusOr<v1::VersionStrategy> ParseVersionStrategy(absl::string_view text,
                                                         absl::string_view field) {
  std::string t = absl::AsciiStrToLower(text);
  if (t.empty() || t == "preserve") return v1::VERSION_STRATEGY_PRESERVE;
  if (t == "new-version" || t == "new_version") return v1::VERSION_STRATEGY_NEW_VERSION;
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": '", text, "' is not a version strategy (preserve or new-version)"));
}

absl::StatusOr<v1::OnBlocked> ParseOnBlocked(absl::string_view text, absl::string_view field) {
  std::string t = absl::AsciiStrToLower(text);
  if (t.empty() || t == "fail") return v1::ON_BLOCKED_FAIL;
  if (t == "skip") return v1::ON_BLOCKED_SKIP;
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": '", text, "' is not an on-blocked policy (fail or skip)"));
}

std::string OnBlockedText(v1::OnBlocked o) { return o == v1::ON_BLOCKED_SKIP ? "skip" : "fail"; }

std::string ConflictStrategyText(v1::ConflictStrategy s) {
  switch (s) {
    case v1::CONFLICT_STRATEGY_SKIP:
      return "skip";
    case v1::CONFLICT_STRATEGY_UPDATE:
      return "update";
    default:
      return "fail";
  }
}

std::string VersionStrategyText(v1::VersionStrategy s) {
  return s == v1::VERSION_STRATEGY_NEW_VERSION ? "new-version" : "preserve";
}

absl::StatusOr<v1::WorkflowSelector> ParseWorkflowSelector(absl::string_view text,
                                                           absl::string_view field) {
  v1::WorkflowSelector sel;
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits('@', 1));
  absl::string_view name = absl::StripAsciiWhitespace(parts[0]);
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": '", text, "' has no workflow name (NAME or NAME@VERSION)"));
  }
  sel.set_name(std::string(name));
  if (parts.size() == 2) {
    int version = 0;
    if (!absl::SimpleAtoi(parts[1], &version) || version <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": '", text, "': the version after '@' must be a positive whole number"));
    }
    sel.set_version(version);
  }
  return sel;
}

absl::StatusOr<v1::ExportConfig> ParseExportConfig(absl::string_view text,
                                                   absl::string_view origin) {
  v1::ExportConfig config;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ":", errors.error()));
  }
  auto bad = [&](const absl::Status& s) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": ", s.message()));
  };
  if (config.source().environment().empty()) {
    return bad(absl::InvalidArgumentError(
        "source.environment: is empty; name the source environment (e.g. \"dev\"), it is "
        "recorded in the package"));
  }
  const v1::ExportSelection& sel = config.selection();
  for (int i = 0; i < sel.workflows_size(); ++i) {
    absl::StatusOr<v1::WorkflowSelector> w =
        ParseWorkflowSelector(sel.workflows(i), absl::StrCat("selection.workflows[", i, "]"));
    if (!w.ok()) return bad(w.status());
  }
  for (int i = 0; i < sel.task_defs_size(); ++i) {
    if (absl::StripAsciiWhitespace(sel.task_defs(i)).empty()) {
      return bad(
          absl::InvalidArgumentError(absl::StrCat("selection.task_defs[", i, "]: is empty")));
    }
  }
  for (int i = 0; i < sel.event_handlers_size(); ++i) {
    if (absl::StripAsciiWhitespace(sel.event_handlers(i)).empty()) {
      return bad(
          absl::InvalidArgumentError(absl::StrCat("selection.event_handlers[", i, "]: is empty")));
    }
  }
  for (int i = 0; i < sel.schedules_size(); ++i) {
    if (absl::StripAsciiWhitespace(sel.schedules(i)).empty()) {
      return bad(
          absl::InvalidArgumentError(absl::StrCat("selection.schedules[", i, "]: is empty")));
    }
  }
  if (sel.workflows().empty() && sel.task_defs().empty() && !sel.all_workflows() &&
      !sel.all_task_defs() && sel.event_handlers().empty() && !sel.all_event_handlers() &&
      sel.schedules().empty() && !sel.all_schedules()) {
    return bad(absl::InvalidArgumentError(
        "selection: selects nothing; give workflows, task_defs, event_handlers, schedules, "
        "all_workflows, all_task_defs, all_event_handlers or all_schedules"));
  }
  if (auto s = ParseConflictStrategy(config.import_options().conflict_strategy(),
                                     "import_options.conflict_strategy");
      !s.ok()) {
    return bad(s.status());
  }
  if (auto s = ParseVersionStrategy(config.import_options().version_strategy(),
                                    "import_options.version_strategy");
      !s.ok()) {
    return bad(s.status());
  }
  if (auto s = ParseOnBlocked(config.import_options().on_blocked(), "import_options.on_blocked");
      !s.ok()) {
    return bad(s.status());
  }
  return config;
}

std::string ExportConfigTemplate() {
  return R"(# migrationctl export config (text protobuf, message cmig.v1.ExportConfig).
# Fill in the selection, then: migrationctl export --config THIS_FILE --output PACKAGE
# Lines starting with '#' are comments.

# Where the definitions are read from.
source {
  # Id the source goes by in the package and in reports. Required.
  environment: "dev"
  # gRPC address host:port of the source orchestrator (the embedded one or Conductor with gRPC
  # on). Empty: migrationctl's --server, else $CMIG_SERVER, else 127.0.0.1:8090.
  address: ""
  # Connect over TLS, verifying the server with these PEM roots (empty: the system roots).
  use_tls: false
  tls_root_ca_file: ""
  # File holding the bearer token. Never put a token itself in this file. Empty:
  # migrationctl's --token-file, else $CMIG_TOKEN, else no token.
  token_file: ""
}

# What to export. Repeat a line to select more.
selection {
  # A workflow by name (latest version) or NAME@VERSION.
  # workflows: "order_flow"
  # workflows: "payment_flow@2"
  # A task definition by name.
  # task_defs: "charge_card"
  # Every workflow definition (latest versions) / every task definition of the source.
  all_workflows: false
  all_task_defs: false
  # An event handler by name; the handlers listening on the events the selected workflows
  # publish on Conductor's queue come along when references are followed.
  # event_handlers: "on_order_shipped"
  # Every event handler of the source.
  all_event_handlers: false
  # A workflow schedule by name; the schedules that start a selected workflow come along when
  # references are followed.
  # schedules: "nightly_orders"
  # Every workflow schedule of the source.
  all_schedules: false
}

# Follow references: sub-workflows (named and inline), START_WORKFLOW targets, failure
# workflows and the task definition of every task, at any depth. Off exports only the
# selection; the package still lists the dependencies it leaves out.
discover_references: true

# Carry the values of the secrets the definitions reference (${workflow.secrets.NAME}). The
# package then says so at its top and must be kept like a secret.
include_secrets: false

# How the target applies the package; 'migrationctl import' can override each.
import_options {
  # When the target holds a different definition under the same name (and version):
  # "fail" blocks the whole import, "skip" leaves the target's, "update" overwrites it.
  conflict_strategy: "fail"
  # "preserve" keeps source version numbers; "new-version" gives a changed workflow the next
  # free version in the target and rewrites every reference to it.
  version_strategy: "preserve"
  # A conflict (under "fail") or a missing dependency: "fail" blocks the whole import, "skip"
  # leaves out what is affected (with every workflow that depends on it) and applies the rest.
  on_blocked: "fail"
  # Plan only: report what would change, change nothing.
  dry_run: false
}

# Refuse a worker task whose task definition the source does not hold, instead of migrating it
# to run with Conductor's default task definition, as it does in the source.
require_task_definitions: false
)";
}

absl::Status WriteOutputFile(const std::string& path, absl::string_view content, bool overwrite,
                             bool owner_only) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !overwrite) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists; pass --overwrite to replace it, or choose another --output"));
  }
  std::string tmp = absl::StrCat(path, ".tmp-", getpid());
  std::filesystem::remove(tmp, ec);
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, owner_only ? 0600 : 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  int write_errno = 0;
  for (absl::string_view rest = content; write_errno == 0 && !rest.empty();) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n > 0) {
      rest.remove_prefix(static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      write_errno = n == 0 ? EIO : errno;
    }
  }
  if (::close(fd) != 0 && write_errno == 0) write_errno = errno;
  if (write_errno != 0) {
    std::filesystem::remove(tmp, ec);
    return absl::DataLossError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(write_errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::filesystem::remove(tmp, ec);
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", path, ": ", why));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadInputFile(const std::string& path, absl::string_view what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " ", path, ": ", std::strerror(errno)));
  }
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace cmig::cli
