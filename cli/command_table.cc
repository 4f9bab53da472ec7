// The command table: every migrationctl command with its usage, description, flags, examples and
// the function that runs it (cli/commands.h).
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/app_internal.h"
#include "cli/commands.h"

namespace cmig::cli {
namespace {

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
          "start, duration and reason, for the migration, its incoming workflow and the rollback "
          "that undid it, if any. --logs adds each attempt's log lines.",
      .flags = {"logs"},
      .examples = {"migrationctl history 3f1c2a9e-...",
                   "migrationctl history 3f1c2a9e-... --logs --json"},
      .min_args = 1,
      .max_args = 1,
      .run = HistoryCommand,
  });
  c.push_back({
      .name = "list",
      .summary = "recent migrations (outgoing, incoming and rollbacks) and their status",
      .usage = "[--limit N] [--status STATUS]",
      .description = "Searches the server for outgoing_migration_request, "
                     "incoming_migration_request and incoming_migration_rollback workflows, "
                     "newest first.",
      .flags = {"limit", "status"},
      .examples = {"migrationctl list", "migrationctl list --status FAILED --limit 5"},
      .run = ListCommand,
  });
  c.push_back({
      .name = "watch",
      .summary = "follow a running migration to its end, as migrate --wait does",
      .usage = "ID [--poll-interval D] [--wait-timeout D]",
      .description = "Prints each step as it runs and ends with the report; exits 1 with the "
                     "reason when the migration fails. Reattaches to a migration started "
                     "elsewhere or whose --wait was interrupted, and keeps following it while "
                     "the server restarts.",
      .flags = {"poll_interval", "wait_timeout"},
      .examples = {"migrationctl watch 3f1c2a9e-..."},
      .min_args = 1,
      .max_args = 1,
      .run = WatchCommand,
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
      .description = "Terminating an outgoing migration also terminates its incoming workflow "
                     "in the target. A terminated incoming workflow is rolled back "
                     "(incoming_migration_rollback), which undoes what it changed in the target; "
                     "`history` shows the rollback's steps.",
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
          "--target ENV --workflow NAME[@VERSION]... --task NAME... --event-handler NAME... "
          "[--all-workflows] [--all-event-handlers] "
          "[--conflict-strategy fail|skip|update] [--version-strategy preserve|new-version] "
          "[--include-secrets] [--require-task-definitions] [--on-blocked fail|skip] [--dry-run] "
          "[--wait] | --apply-plan DRY_RUN_ID [--wait]",
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
          "item by item. Event handlers listening on the events the selected workflows publish "
          "on Conductor's queue come along, and so do the workflows a handler starts; "
          "--event-handler and --all-event-handlers select handlers themselves. The workflow "
          "schedules that start a migrated workflow come along too, and so does the workflow a "
          "schedule starts (--schedule, --all-schedules); a schedule whose workflow, or a "
          "secret that workflow reads, the target lacks is created paused, saying why. A "
          "conflict or "
          "update lists the fields that differ (target -> package). --apply-plan ID applies a "
          "completed dry run as approved, with its target, selection and options: the run "
          "refuses, changing nothing, when the source's package or the target's plan is not "
          "what the dry run showed, and says what changed.",
      .flags = {"target",           "source",
                "workflow",         "task",
                "event_handler",    "all_event_handlers",
                "schedule",         "all_schedules",
                "all_workflows",    "conflict_strategy",
                "version_strategy", "include_secrets",
                "skip_discovery",   "require_task_definitions",
                "on_blocked",       "dry_run",
                "apply_plan",       "wait",
                "poll_interval",    "wait_timeout"},
      .examples = {"migrationctl migrate --target prod --workflow order_flow --dry-run --wait",
                   "migrationctl migrate --apply-plan 5f0c... --wait",
                   "migrationctl migrate --target prod --workflow order_flow@3 --workflow "
                   "refund_flow --task charge_card --conflict-strategy update --wait",
                   "migrationctl migrate --target test --all-workflows --version-strategy "
                   "new-version --json"},
      .run = MigrateCommand,
  });
  c.push_back({
      .name = "env add",
      .summary = "define (or replace) an environment migrations can target",
      .usage = "ID --address URL|HOST:PORT [--use-tls] [--root-ca-file FILE] "
               "[--token-secret NAME | --access-key-id ID --access-key-secret NAME]",
      .description =
          "Stored in --server's environment registry. An http(s):// address is a Conductor "
          "server's REST API (conductor-oss or Orkes as they ship): migrations from and to it "
          "run on --server's worker, which reads and writes it over REST. HOST:PORT (or "
          "grpc:// / grpcs://) is a Conductor gRPC API with its own migration worker. "
          "Credentials are not given here: store the token or the access key's secret with "
          "'secret put NAME' and name that secret.",
      .flags = {"address", "use_tls", "root_ca_file", "token_secret", "access_key_id",
                "access_key_secret"},
      .examples = {"migrationctl env add prod --address https://conductor.example.com/api "
                   "--access-key-id 6f1c0d2e --access-key-secret prod-key",
                   "migrationctl env add staging --address http://staging:8080/api",
                   "migrationctl env add test --address test-conductor:8090 --use-tls "
                   "--token-secret test-token"},
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
      .name = "env test",
      .summary = "check that an environment answers and accepts its credentials",
      .usage = "ID",
      .description = "Connects as a migration would, from this machine: the protocol its address "
                     "names, the token or access key from --server's secret store (an access key "
                     "is exchanged for a token), then one read of its definitions. Fails naming "
                     "what went wrong; prints no credential.",
      .examples = {"migrationctl env test prod", "migrationctl env test prod --json"},
      .min_args = 1,
      .max_args = 1,
      .run = EnvTestCommand,
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
      .name = "access-key create",
      .summary = "create an access key for Conductor's REST API (POST /api/token)",
      .description = "Prints the key id and the key secret. The secret is shown this once: the "
                     "orchestrator keeps only a hash of it. With --output the pair is written "
                     "there as JSON, {\"keyId\": ..., \"keySecret\": ...} (mode 0600), instead of "
                     "to the terminal.",
      .flags = {"output", "overwrite"},
      .examples = {"migrationctl access-key create --output ~/.cmig/ci.key"},
      .run = AccessKeyCreateCommand,
  });
  c.push_back({
      .name = "access-key list",
      .summary = "the access keys' ids and creation times (never their secrets)",
      .examples = {"migrationctl access-key list"},
      .run = AccessKeyListCommand,
  });
  c.push_back({
      .name = "access-key revoke",
      .summary = "revoke an access key: it can no longer be exchanged for tokens",
      .usage = "KEY_ID",
      .description = "Tokens already handed out for it stay valid until they expire "
                     "(the orchestrator's --token_ttl).",
      .examples = {"migrationctl access-key revoke 3f9c0a..."},
      .min_args = 1,
      .max_args = 1,
      .run = AccessKeyRevokeCommand,
  });
  c.push_back({
      .name = "definitions load",
      .summary = "register the Conductor JSON definitions in a folder with --server",
      .usage = "DIR",
      .description = "Reads every *.json file under DIR (workflow definitions, task definitions, "
                     "event handlers or arrays of them, in Conductor's JSON as its UI and REST "
                     "API show them), then creates "
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
      .name = "definitions get",
      .summary = "print one definition as Conductor JSON",
      .usage = "workflow NAME[@VERSION] | task NAME | event-handler NAME [--environment ENV]",
      .description = "Reads the definition from --server, or with --environment from an "
                     "environment --server knows (over its own protocol and credentials), and "
                     "prints it in the canonical Conductor JSON a migration compares and "
                     "'definitions load' reads back. A workflow without @VERSION is its latest "
                     "version.",
      .flags = {"environment"},
      .examples = {"migrationctl definitions get workflow order_flow@3 --server dev:8090",
                   "migrationctl definitions get task charge_card --environment prod "
                   "--server dev:8090"},
      .min_args = 2,
      .max_args = 2,
      .run = DefinitionsGetCommand,
  });
  c.push_back({
      .name = "definitions diff",
      .summary = "compare one definition between --server (or --environment) and --target",
      .usage = "workflow NAME[@VERSION] | task NAME | event-handler NAME --target ENV "
               "[--environment ENV]",
      .description = "Reads the definition from the source (--server, or --environment) and the "
                     "same key from the target environment (a workflow under the source's "
                     "version), and prints each field that differs as 'path: target -> source', "
                     "the way a migration's plan shows a conflict. Workflow tasks are matched by "
                     "reference name. Says 'identical', or that the target lacks it.",
      .flags = {"target", "environment"},
      .examples = {"migrationctl definitions diff workflow order_flow --target prod "
                   "--server dev:8090"},
      .min_args = 2,
      .max_args = 2,
      .run = DefinitionsDiffCommand,
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
      .flags = {"max_package_bytes"},
      .examples = {"migrationctl inspect orders.cmigpkg.json"},
      .min_args = 1,
      .max_args = 1,
      .run = InspectCommand,
      .offline = true,
  });
  c.push_back({
      .name = "import",
      .summary = "apply a package file to a target server (incoming_migration_request)",
      .usage = "--input PACKAGE --server ADDR [--target NAME] "
               "[--conflict-strategy fail|skip|update] "
               "[--version-strategy preserve|new-version] [--on-blocked fail|skip] [--dry-run] "
               "[--wait]",
      .description = "Checks the package, then starts incoming_migration_request on the "
                     "server with it. --target names the server as the reports show it (\"dev -> "
                     "prod\"); without it the reports show its address. With --wait, shows the "
                     "steps as they run and ends with the report; exits 1 when the import fails.",
      .flags = {"input", "conflict_strategy", "version_strategy", "on_blocked", "max_package_bytes",
                "dry_run", "wait", "poll_interval", "wait_timeout", "target"},
      .examples = {"migrationctl import --input orders.cmigpkg.json --server prod:8090 "
                   "--token-file ~/.cmig/prod.token --dry-run --wait",
                   "migrationctl import --input orders.cmigpkg.json --server prod:8090 "
                   "--target prod --conflict-strategy update --wait"},
      .run = ImportCommand,
  });
  c.push_back({
      .name = "schedule create",
      .summary = "migrate on a schedule: a recurring migration run by --server's scheduler",
      .usage = "NAME --cron \"SEC MIN HOUR DAY MONTH WEEKDAY\" [--zone ZONE] [--catch-up] "
               "--target ENV --workflow NAME[@VERSION]... (and migrate's other selection and "
               "option flags)",
      .description =
          "Creates (or replaces) schedule NAME on --server: at each instant --cron names, read "
          "in --zone, it starts outgoing_migration_request with the selection and options "
          "given, as 'migrate' would; each run is an ordinary migration with its history "
          "('list', 'history'). A run that comes due while the previous run's migration is "
          "still running is skipped, and 'schedule runs' says so. A time a daylight-saving "
          "change skips does not run; one it repeats runs once. After the server was down, "
          "only the latest missed run is made, unless --catch-up.",
      .flags = {"cron", "zone", "catch_up", "target", "source", "workflow", "task", "event_handler",
                "all_event_handlers", "schedule", "all_schedules", "all_workflows",
                "conflict_strategy", "version_strategy", "include_secrets", "skip_discovery",
                "require_task_definitions", "on_blocked", "dry_run"},
      .examples = {"migrationctl schedule create nightly-staging --cron \"0 0 2 * * *\" --zone "
                   "Europe/Berlin --target staging --all-workflows --conflict-strategy update",
                   "migrationctl schedule create release-window --cron \"0 0 18 * * THU\" "
                   "--target prod --workflow order_flow --dry-run"},
      .min_args = 1,
      .max_args = 1,
      .run = ScheduleCreateCommand,
  });
  c.push_back({
      .name = "schedule list",
      .summary = "the schedules on --server, their next and last runs",
      .usage = "",
      .description = "One row per schedule: its cron expression and zone, the workflow it starts "
                     "and the target, the next run, the last run and how it went, and whether "
                     "it is paused (and why).",
      .flags = {},
      .examples = {"migrationctl schedule list", "migrationctl schedule list --json"},
      .run = ScheduleListCommand,
  });
  c.push_back({
      .name = "schedule pause",
      .summary = "stop a schedule's runs until it is resumed",
      .usage = "NAME [--reason TEXT]",
      .description = "Runs that come due while paused are never made, not even after resuming. "
                     "--reason (shown by 'schedule list') defaults to 'paused with migrationctl'.",
      .flags = {"reason"},
      .examples = {"migrationctl schedule pause nightly-staging --reason \"release freeze\""},
      .min_args = 1,
      .max_args = 1,
      .run = SchedulePauseCommand,
  });
  c.push_back({
      .name = "schedule resume",
      .summary = "run a paused schedule again, from now on",
      .usage = "NAME",
      .description = "The next run is the first instant of its cron expression from now.",
      .flags = {},
      .examples = {"migrationctl schedule resume nightly-staging"},
      .min_args = 1,
      .max_args = 1,
      .run = ScheduleResumeCommand,
  });
  c.push_back({
      .name = "schedule delete",
      .summary = "remove a schedule and the record of its runs",
      .usage = "NAME",
      .description = "The migrations it started stay, with their history.",
      .flags = {},
      .examples = {"migrationctl schedule delete nightly-staging"},
      .min_args = 1,
      .max_args = 1,
      .run = ScheduleDeleteCommand,
  });
  c.push_back({
      .name = "schedule next",
      .summary = "when a schedule runs next (its next five runs)",
      .usage = "NAME",
      .description = "Read in the schedule's zone, within its start and end times; a paused "
                     "schedule shows when it would run once resumed.",
      .flags = {},
      .examples = {"migrationctl schedule next nightly-staging"},
      .min_args = 1,
      .max_args = 1,
      .run = ScheduleNextCommand,
  });
  c.push_back({
      .name = "schedule runs",
      .summary = "a schedule's runs, newest first: when, how it went, the migration it started",
      .usage = "NAME [--limit N]",
      .description = "EXECUTED: the migration started (follow it with 'status' or 'history'); "
                     "FAILED: it could not start, and why; SKIPPED: the previous run's migration "
                     "was still running.",
      .flags = {"limit"},
      .examples = {"migrationctl schedule runs nightly-staging --limit 5"},
      .min_args = 1,
      .max_args = 1,
      .run = ScheduleRunsCommand,
  });
  return c;
}
}  // namespace

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>(BuildCommands());
  return *commands;
}

const Command* FindCommand(absl::string_view name) {
  for (const Command& c : Commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<std::string> GroupMembers(absl::string_view word) {
  std::vector<std::string> members;
  for (const Command& c : Commands()) {
    if (absl::StartsWith(c.name, absl::StrCat(word, " "))) {
      members.push_back(c.name.substr(word.size() + 1));
    }
  }
  return members;
}

}  // namespace cmig::cli
