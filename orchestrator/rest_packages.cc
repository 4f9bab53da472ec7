// What the console does with a package file: POST /api/cmig/packages checks and stores an
// uploaded file; POST /api/cmig/packages/{digest}/inspect checks a
// stored package (format, item hashes, digest) and summarises it; POST .../import starts
// incoming_migration_request on this server for it, as `migrationctl import` does, after the same
// check. A package that fails the check is refused with the reason, naming the item, and nothing
// starts.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "definitions/canonical.h"
#include "definitions/message_value.h"
#include "google/protobuf/util/time_util.h"
#include "migration/package.h"
#include "orchestrator/rest_internal.h"

namespace cmig::orchestrator::rest {
namespace {

constexpr absl::string_view kIncoming = "incoming_migration_request";

// `bytes` parsed as a package and checked.
absl::StatusOr<v1::MigrationPackage> CheckedPackage(const std::string& bytes) {
  absl::StatusOr<v1::MigrationPackage> package = migration::PackageFromJson(bytes);
  if (!package.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the file is not a migration package: ", package.status().message()));
  }
  if (absl::Status valid = migration::ValidatePackage(*package).status(); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the package failed its checks (damaged or changed since it was exported): ",
                     valid.message()));
  }
  return package;
}

// The stored package `digest` (its blob address), parsed and checked.
absl::StatusOr<v1::MigrationPackage> CheckedPackage(ExtensionStore& store,
                                                    const std::string& digest) {
  ASSIGN_OR_RETURN(std::string bytes, store.GetPackage(digest));
  return CheckedPackage(bytes);
}

absl::StatusOr<Value> Summary(const v1::MigrationPackage& p) {
  Value out;
  auto& f = *out.mutable_struct_value()->mutable_fields();
  f["digest"].set_string_value(p.digest());
  f["formatVersion"].set_number_value(p.format_version());
  f["sourceEnvironment"].set_string_value(p.source_environment());
  f["createdAt"].set_string_value(google::protobuf::util::TimeUtil::ToString(p.created_at()));
  ASSIGN_OR_RETURN(f["options"], MessageToValue(p.options()));
  auto& items = *f["items"].mutable_list_value();
  for (const v1::PackageItem& item : p.items()) {
    Value v;
    auto& i = *v.mutable_struct_value()->mutable_fields();
    i["kind"].set_string_value(v1::ItemKind_Name(item.kind()));
    i["name"].set_string_value(item.name());
    if (item.version() > 0) i["version"].set_number_value(item.version());
    *items.add_values() = std::move(v);
  }
  ASSIGN_OR_RETURN(f["dependencies"], MessageToValue(p.dependencies()));
  f["containsSecretValues"].set_bool_value(p.contains_secret_values());
  auto& secrets = *f["secretNames"].mutable_list_value();
  for (const v1::SecretValue& s : p.secrets()) secrets.add_values()->set_string_value(s.name());
  return out;
}

}  // namespace

void AddPackageRoutes(const std::shared_ptr<ExtensionStore>& store, int64_t max_package_bytes,
                      std::vector<Route>& routes) {
  if (store == nullptr) return;
  // A package file as uploaded, checked, then stored under the SHA-256 of its bytes:
  // {"digest"}. One that fails the check is refused and not stored.
  routes.push_back(Beyond(
      R("POST", "/api/cmig/packages", [store, max_package_bytes](Engine&, const CallPtr& call) {
        const std::string& bytes = call->request().body;
        if (static_cast<int64_t>(bytes.size()) > max_package_bytes) {
          call->Error(absl::ResourceExhaustedError(absl::StrCat(
              "the package is ", bytes.size(), " bytes, more than this server accepts: ",
              max_package_bytes, " (its --max_package_bytes)")));
          return;
        }
        v1::MigrationPackage checked;
        if (!Take(call, CheckedPackage(bytes), &checked)) return;
        const std::string digest = cmig::Sha256Hex(bytes);
        if (absl::Status s = store->PutPackage(digest, bytes, max_package_bytes); !s.ok()) {
          call->Error(s);
          return;
        }
        Value v;
        (*v.mutable_struct_value()->mutable_fields())["digest"].set_string_value(digest);
        call->Json(v);
      })));
  routes.push_back(
      Beyond(R("POST", "/api/cmig/packages/{}/inspect", [store](Engine&, const CallPtr& call) {
        v1::MigrationPackage package;
        Value v;
        if (Take(call, CheckedPackage(*store, call->param(0)), &package) &&
            Take(call, Summary(package), &v)) {
          call->Json(v);
        }
      })));
  // {"startedBy"} -> {"workflowId"}: the import runs with the options the package records.
  routes.push_back(Beyond(
      R("POST", "/api/cmig/packages/{}/import", [store](Engine& engine, const CallPtr& call) {
        Value body;
        if (!Take(call, call->Body(), &body)) return;
        v1::MigrationPackage package;
        if (!Take(call, CheckedPackage(*store, call->param(0)), &package)) return;
        conductor::proto::StartWorkflowRequest start;
        start.set_name(std::string(kIncoming));
        start.set_correlation_id(absl::StrCat("cmig-import-", package.digest()));
        auto& in = *start.mutable_input();
        in["packageRef"].set_string_value(absl::StrCat("sha256:", call->param(0)));
        in["sourceEnvironment"].set_string_value(package.source_environment());
        in["targetEnvironment"].set_string_value("local");
        std::string by = Field(body, "startedBy").string_value();
        in["startedBy"].set_string_value(by.empty() ? "REST API" : by);
        StartAndAnswerId(engine, std::move(start), call);
      })));
}

}  // namespace cmig::orchestrator::rest
