#include "cli/flags.h"

#include "absl/flags/flag.h"

// The default of --server comes from CMIG_SERVER at run time (cli/app.cc), so that the help shows
// the built-in default rather than whatever the environment of the help call held.
ABSL_FLAG(std::string, server, "",
          "orchestrator address host:port (default: $CMIG_SERVER, else 127.0.0.1:8090)");
ABSL_FLAG(std::string, token_file, "",
          "file holding the bearer token (without it, the token itself is read from $CMIG_TOKEN; "
          "a token is never a flag)");
ABSL_FLAG(bool, tls, false, "connect to --server over TLS");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM roots to verify --server with (default: the system roots)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "deadline of each call to the server");
ABSL_FLAG(bool, json, false, "print one JSON document instead of tables");

ABSL_FLAG(bool, logs, false, "also print each attempt's log lines");
ABSL_FLAG(int, limit, 20, "most migrations to list, newest first");
ABSL_FLAG(std::string, status, "",
          "only migrations in this status (RUNNING, COMPLETED, FAILED, TIMED_OUT, TERMINATED)");
ABSL_FLAG(std::string, reason, "terminated with migrationctl",
          "why the workflow is terminated (kept in its history)");
ABSL_FLAG(bool, use_latest_definitions, false,
          "restart with the latest version of the workflow definition");

ABSL_FLAG(std::string, output, "", "file to write");
ABSL_FLAG(bool, overwrite, false, "replace the output file if it exists");
ABSL_FLAG(std::string, config, "", "export config (write one with 'migrationctl template')");
ABSL_FLAG(std::string, input, "", "package file to import");

ABSL_FLAG(std::string, target, "", "id of the target environment (see 'migrationctl env list')");
ABSL_FLAG(std::string, source, "local",
          "id the source environment goes by in the package and the reports");
ABSL_FLAG(std::string, environment, "",
          "read from this environment (see 'migrationctl env list') instead of --server");
ABSL_FLAG(std::vector<std::string>, workflow, {},
          "workflow to migrate, NAME (latest) or NAME@VERSION; repeatable");
ABSL_FLAG(std::vector<std::string>, task, {}, "task definition to migrate; repeatable");
ABSL_FLAG(bool, all_workflows, false, "migrate every workflow definition (latest versions)");
ABSL_FLAG(std::vector<std::string>, event_handler, {}, "event handler to migrate; repeatable");
ABSL_FLAG(bool, all_event_handlers, false, "migrate every event handler");
ABSL_FLAG(std::vector<std::string>, schedule, {}, "workflow schedule to migrate; repeatable");
ABSL_FLAG(bool, all_schedules, false, "migrate every workflow schedule");
ABSL_FLAG(std::string, conflict_strategy, "fail",
          "when the target holds a different definition: fail, skip or update");
ABSL_FLAG(std::string, version_strategy, "preserve",
          "workflow versions in the target: preserve or new-version");
ABSL_FLAG(bool, include_secrets, false,
          "carry the values of referenced secrets (the package must then be kept like a secret)");
ABSL_FLAG(bool, skip_discovery, false,
          "migrate only what was selected, without following references");
ABSL_FLAG(bool, require_task_definitions, false,
          "refuse a worker task whose task definition the source does not hold, instead of "
          "migrating it to run with Conductor's default task definition as in the source");
ABSL_FLAG(std::string, on_blocked, "fail",
          "what a conflict or missing dependency does: fail blocks the whole migration, skip "
          "leaves out what it affects and migrates the rest");
ABSL_FLAG(int64_t, max_package_bytes, int64_t{256} << 20,
          "largest package file inspect and import read; a larger one is refused before reading");
ABSL_FLAG(bool, dry_run, false, "plan only: report what would change, change nothing");
ABSL_FLAG(std::string, apply_plan, "",
          "apply this completed dry run (its workflow id) as approved: same target, selection and "
          "options; refused, changing nothing, if the source or target changed since");
ABSL_FLAG(bool, wait, false, "wait for the migration to end, showing step progress");
ABSL_FLAG(absl::Duration, poll_interval, absl::Seconds(1),
          "the longest --wait goes between looks at the status (it looks sooner while steps "
          "change)");
ABSL_FLAG(absl::Duration, wait_timeout, absl::ZeroDuration(),
          "give up waiting after this long (0: wait until the migration ends)");
ABSL_FLAG(std::string, cron, "",
          "when a schedule runs: six fields, seconds first (\"0 0 2 * * *\" = 02:00 daily), or "
          "@daily, @hourly, ...");
ABSL_FLAG(std::string, zone, "UTC", "the time zone a schedule's --cron is read in (IANA name)");
ABSL_FLAG(bool, catch_up, false,
          "after the orchestrator was down, make every run the schedule missed, not only the "
          "latest");

ABSL_FLAG(std::string, address, "",
          "where the environment is: http(s)://HOST[:PORT]/api (Conductor's REST API), "
          "HOST:PORT or grpc(s)://HOST:PORT (its gRPC API)");
ABSL_FLAG(bool, use_tls, false, "a HOST:PORT environment is reached over TLS");
ABSL_FLAG(std::string, root_ca_file, "",
          "PEM roots to verify the environment with, on the worker's machine");
ABSL_FLAG(std::string, token_secret, "",
          "name of the secret holding the environment's token (see 'migrationctl secret put')");
ABSL_FLAG(std::string, access_key_id, "",
          "an Orkes access key's id, exchanged for tokens at POST /api/token (REST only)");
ABSL_FLAG(std::string, access_key_secret, "",
          "name of the secret holding that access key's secret");
ABSL_FLAG(std::string, from_file, "", "read the secret's value from this file instead of stdin");
