// Turning what a person types (flags, config fields) into the migration's messages, with errors
// that name the flag or field and say why.
#ifndef CMIG_CLI_OPTIONS_H_
#define CMIG_CLI_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cmig/v1/cli_config.pb.h"
#include "cmig/v1/package.pb.h"

namespace cmig::cli {

// "fail" | "skip" | "update" (case-insensitive). InvalidArgument naming `field` otherwise; an
// empty text is FAIL.
absl::StatusOr<v1::ConflictStrategy> ParseConflictStrategy(absl::string_view text,
                                                           absl::string_view field);
// "preserve" | "new-version" (or "new_version"); empty is PRESERVE.
absl::StatusOr<v1::VersionStrategy> ParseVersionStrategy(absl::string_view text,
                                                         absl::string_view field);
// "fail" | "skip"; empty is FAIL.
absl::StatusOr<v1::OnBlocked> ParseOnBlocked(absl::string_view text, absl::string_view field);
std::string ConflictStrategyText(v1::ConflictStrategy s);
std::string OnBlockedText(v1::OnBlocked o);
std::string VersionStrategyText(v1::VersionStrategy s);

// "NAME" -> {NAME, 0 (latest)}; "NAME@3" -> {NAME, 3}. InvalidArgument naming `field`.
absl::StatusOr<v1::WorkflowSelector> ParseWorkflowSelector(absl::string_view text,
                                                           absl::string_view field);

// Parses an export config (text proto) and checks it. InvalidArgument "<origin>:<line>:<col>:
// <why>" for syntax errors, "<origin>: <field>: <why>" for bad values. The result's strategies
// are validated.
absl::StatusOr<v1::ExportConfig> ParseExportConfig(absl::string_view text,
                                                   absl::string_view origin);

// The template `migrationctl template` writes: every field with a comment. Parses with
// ParseExportConfig except that it selects nothing until a selection is filled in.
std::string ExportConfigTemplate();

// Writes `content` to `path`; FailedPrecondition naming the path and --overwrite when it exists
// and `overwrite` is false. Written through a temporary file and a rename, so a reader never sees
// half a file. With `owner_only` (content such as secret values) the file is created readable and
// writable by its owner alone (mode 0600), from its first byte on.
absl::Status WriteOutputFile(const std::string& path, absl::string_view content, bool overwrite,
                             bool owner_only = false);
absl::StatusOr<std::string> ReadInputFile(const std::string& path, absl::string_view what);

}  // namespace cmig::cli

#endif  // CMIG_CLI_OPTIONS_H_
