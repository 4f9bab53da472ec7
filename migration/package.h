// The migration package: building it from a discovery, its JSON form, and validating it.
//
//   ASSIGN_OR_RETURN(Discovery d, Discover(selection, source, {}));
//   PackageHeader header{.source_environment = "dev", .created_at = absl::Now(),
//                        .options = options, .selection = selection};
//   ASSIGN_OR_RETURN(BuiltPackage built, BuildPackage(d, header));
//   ASSIGN_OR_RETURN(std::string json, PackageToJson(built.package));
//   ...
//   ASSIGN_OR_RETURN(v1::MigrationPackage p, PackageFromJson(json));
//   ASSIGN_OR_RETURN(PackageContents contents, ValidatePackage(p));
//
// The digest is the lower-case hex SHA-256 of this text (every line ends with '\n'; <s> is a
// string written as "<byte length>:<bytes>"; enum values and booleans as decimal numbers):
//
//   cmig-package-digest
//   format_version <n>
//   contains_secret_values <0|1>
//   source_environment <s>
//   options <conflict_strategy> <version_strategy> <include_secrets> <skip_discovery>
//   require_task_definitions 1                      only when that option is set
//   on_blocked <on_blocked>                         only when that option is set
//   item <kind> <s name> <version> <sha256>        one per item, sorted by (kind, name, version)
//                                                   (kinds: 1 task definition, 2 workflow,
//                                                   3 event handler)
//   secret <s name> <s value>                       one per secret, sorted by name
//
// so it changes when any item, the header or a secret changes, and not when items are reordered.
// It leaves out when the package was built and whether the migration is a dry run: the same
// content has the same digest on every run, so a dry run's digest can be approved and matched by
// the run that applies it.
// All functions are thread-safe and never block.
#ifndef CMIG_MIGRATION_PACKAGE_H_
#define CMIG_MIGRATION_PACKAGE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cmig/v1/package.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "migration/discovery.h"

namespace cmig::migration {

// The package format this build writes and the only one it reads.
inline constexpr int kPackageFormatVersion = 2;
// The oldest format version this build still reads (format 1's digest also covered created_at
// and the dry_run option).
inline constexpr int kOldestPackageFormatVersion = 1;

struct PackageHeader {
  std::string source_environment;
  absl::Time created_at;
  v1::MigrationOptions options;
  v1::Selection selection;
  // Secret values by name, read from the source's secret store. Used only when
  // options.include_secrets is set, and then only for secrets the definitions reference.
  std::map<std::string, std::string> secret_values;
};

struct BuiltPackage {
  v1::MigrationPackage package;
  // Problems that do not stop the build, e.g. a referenced secret without a value.
  std::vector<std::string> warnings;
};

// Canonical JSON, SHA-256 per item, manifest, dependency report and digest.
// InvalidArgument when the source environment is empty.
absl::StatusOr<BuiltPackage> BuildPackage(const Discovery& discovery, const PackageHeader& header);

// The digest of `package` as documented above (ignores package.digest itself).
std::string ComputePackageDigest(const v1::MigrationPackage& package);

// Protobuf JSON. Writing fails (Internal) only on a message protobuf cannot print. Parsing rejects
// unknown fields and malformed JSON with InvalidArgument; it does not validate (call
// ValidatePackage).
absl::StatusOr<std::string> PackageToJson(const v1::MigrationPackage& package, bool pretty = false);
absl::StatusOr<v1::MigrationPackage> PackageFromJson(absl::string_view json);

// The definitions of a valid package, parsed, in item order.
struct PackageContents {
  std::vector<conductor::proto::TaskDef> task_defs;
  std::vector<conductor::proto::WorkflowDef> workflows;
  // Item index in package.items() of each entry above.
  std::vector<int> task_def_items;
  std::vector<int> workflow_items;
  // Each entry's extra keys (PackageItem.extra_json parsed; unset when it has none).
  std::vector<google::protobuf::Value> task_def_extras;
  std::vector<google::protobuf::Value> workflow_extras;
  std::vector<conductor::proto::EventHandler> event_handlers;
  std::vector<int> event_handler_items;
  std::vector<v1::WorkflowSchedule> schedules;
  std::vector<int> schedule_items;
};

// The JSON object a definition with `extra` keys is hashed as: `canonical` (the proto's canonical
// JSON, parsed) with them laid over; `canonical` as it is when `extra` is not an object.
std::string ItemJsonWithExtras(const google::protobuf::Value& canonical,
                               const google::protobuf::Value& extra);

// Checks the format version, the digest, every item's hash against its canonical JSON, the
// shape (non-empty names, known kinds, no duplicate (kind, name, version), canonical JSON that
// parses as the declared kind with the declared name and version), the manifest against the items,
// and the secrets marker. InvalidArgument listing every problem found when anything is wrong.
absl::StatusOr<PackageContents> ValidatePackage(const v1::MigrationPackage& package);

// "workflow 'name' version N", "task definition 'name'", "event handler 'name'" or "schedule
// 'name'".
std::string DescribeItem(v1::ItemKind kind, absl::string_view name, int32_t version);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_PACKAGE_H_
