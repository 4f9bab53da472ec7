// Every flag of migrationctl. Abseil flags are process-wide, so all commands share one set of
// definitions; cli/arguments.cc accepts on each command only the flags its help lists.
//
// Names use underscores here; on the command line `--conflict-strategy` and
// `--conflict_strategy` are the same flag.
#ifndef CMIG_CLI_FLAGS_H_
#define CMIG_CLI_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/time/time.h"

// Global: where and how to reach the orchestrator.
ABSL_DECLARE_FLAG(std::string, server);
ABSL_DECLARE_FLAG(std::string, token_file);
ABSL_DECLARE_FLAG(bool, tls);
ABSL_DECLARE_FLAG(std::string, tls_ca_file);
ABSL_DECLARE_FLAG(absl::Duration, timeout);
ABSL_DECLARE_FLAG(bool, json);

// Workflow operations.
ABSL_DECLARE_FLAG(bool, logs);
ABSL_DECLARE_FLAG(int, limit);
ABSL_DECLARE_FLAG(std::string, status);
ABSL_DECLARE_FLAG(std::string, reason);
ABSL_DECLARE_FLAG(bool, use_latest_definitions);

// Files.
ABSL_DECLARE_FLAG(std::string, output);
ABSL_DECLARE_FLAG(bool, overwrite);
ABSL_DECLARE_FLAG(std::string, config);
ABSL_DECLARE_FLAG(std::string, input);

// Migration options.
ABSL_DECLARE_FLAG(std::string, target);
ABSL_DECLARE_FLAG(std::string, source);
ABSL_DECLARE_FLAG(std::string, environment);
ABSL_DECLARE_FLAG(std::vector<std::string>, workflow);
ABSL_DECLARE_FLAG(std::vector<std::string>, task);
ABSL_DECLARE_FLAG(bool, all_workflows);
ABSL_DECLARE_FLAG(std::vector<std::string>, event_handler);
ABSL_DECLARE_FLAG(bool, all_event_handlers);
ABSL_DECLARE_FLAG(std::vector<std::string>, schedule);
ABSL_DECLARE_FLAG(bool, all_schedules);
ABSL_DECLARE_FLAG(std::string, conflict_strategy);
ABSL_DECLARE_FLAG(std::string, version_strategy);
ABSL_DECLARE_FLAG(bool, include_secrets);
ABSL_DECLARE_FLAG(bool, skip_discovery);
ABSL_DECLARE_FLAG(bool, require_task_definitions);
ABSL_DECLARE_FLAG(std::string, on_blocked);
ABSL_DECLARE_FLAG(int64_t, max_package_bytes);
ABSL_DECLARE_FLAG(bool, dry_run);
ABSL_DECLARE_FLAG(std::string, apply_plan);
ABSL_DECLARE_FLAG(std::string, apply_plan);
ABSL_DECLARE_FLAG(bool, wait);
ABSL_DECLARE_FLAG(absl::Duration, poll_interval);
ABSL_DECLARE_FLAG(absl::Duration, wait_timeout);

// Schedules.
ABSL_DECLARE_FLAG(std::string, cron);
ABSL_DECLARE_FLAG(std::string, zone);
ABSL_DECLARE_FLAG(bool, catch_up);

// Environments and secrets.
ABSL_DECLARE_FLAG(std::string, address);
ABSL_DECLARE_FLAG(bool, use_tls);
ABSL_DECLARE_FLAG(std::string, root_ca_file);
ABSL_DECLARE_FLAG(std::string, token_secret);
ABSL_DECLARE_FLAG(std::string, access_key_id);
ABSL_DECLARE_FLAG(std::string, access_key_secret);
ABSL_DECLARE_FLAG(std::string, from_file);

#endif  // CMIG_CLI_FLAGS_H_
