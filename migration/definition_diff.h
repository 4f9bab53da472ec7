// Where two definitions differ, field by field, for an operator deciding on a conflict.
//
//   DefinitionDiff d = DiffDefinitions(target_json, package_json);
//   for (const v1::FieldDifference& f : d.differences) ...   // "tasks[0].name": "a" -> "b"
//
// Both sides are definition JSON (canonical or not: key order and spacing do not matter). Objects
// are compared key by key; a list whose elements are all objects with distinct string
// "taskReferenceName" values (workflow tasks, SWITCH cases, FORK branches, DO_WHILE bodies) is
// matched by reference name, so inserting one task shows as one added task rather than every
// later task changed, and tasks that only moved show as the list's new order; any other list is
// compared position by position. Values are compact JSON; long ones are cut. Pure, thread-safe.
#ifndef CMIG_MIGRATION_DEFINITION_DIFF_H_
#define CMIG_MIGRATION_DEFINITION_DIFF_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cmig/v1/report.pb.h"
#include "google/protobuf/struct.pb.h"

namespace cmig::migration {

// Differences listed per item; the rest are only counted.
inline constexpr int kMaxDifferences = 20;
// Longest value shown, in bytes, before it is cut.
inline constexpr size_t kMaxDifferenceValueBytes = 200;

struct DefinitionDiff {
  // In document order, at most kMaxDifferences.
  std::vector<v1::FieldDifference> differences;
  // Differences beyond the listed ones.
  int more = 0;
  bool empty() const { return differences.empty(); }
};

DefinitionDiff DiffDefinitions(const google::protobuf::Value& target,
                               const google::protobuf::Value& package);
// The same for JSON text; InvalidArgument naming the side that does not parse.
absl::StatusOr<DefinitionDiff> DiffDefinitions(absl::string_view target_json,
                                               absl::string_view package_json);

// Sets item->differences and more_differences from the two JSON texts; leaves the item as it is
// when either does not parse (a plan is never stopped by its explanation).
void AttachDifferences(absl::string_view target_json, absl::string_view package_json,
                       v1::PlannedItem* item);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_DEFINITION_DIFF_H_
