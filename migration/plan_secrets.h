// Secrets as plan items: each secret value a package carries (MigrationOptions.include_secrets)
// is planned against the target's secret store like a definition, under the same conflict
// strategy.
//
//   ASSIGN_OR_RETURN(v1::MigrationPlan plan, PlanMigration(package, contents, target));
//   RETURN_IF_ERROR(PlanSecrets(package, target_secret_store, plan));
//
// Per carried secret: absent in the target, CREATE; the same value, UNCHANGED; a different value,
// CONFLICT (strategy fail), SKIP or UPDATE; a target without a secret API, BLOCKED. Under
// on-blocked skip a CONFLICT or BLOCKED secret is LEFT_OUT instead (the workflows that read it
// keep whatever the target holds). Values are compared in memory in constant time and recorded
// only as HMAC-SHA256 under a key drawn for this plan and then discarded: the hashes tell equal
// from different within one plan and cannot be checked against a guessed value.
#ifndef CMIG_MIGRATION_PLAN_SECRETS_H_
#define CMIG_MIGRATION_PLAN_SECRETS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "client/extensions_client.h"
#include "cmig/v1/package.pb.h"
#include "cmig/v1/report.pb.h"

namespace cmig::migration {

// Adds one item per package secret to the front of `plan.items` (secrets are written before any
// definition), then brings `blocked`, `blocking_problems`, `counts` and `manual_dependencies` up
// to date: a carried secret the target will hold after the apply is no longer one to provide by
// hand. `store` may be null (no secret API). Errors: reads of `store` other than NotFound and
// Unimplemented, naming the secret.
absl::Status PlanSecrets(const v1::MigrationPackage& package, client::SecretClient* store,
                         v1::MigrationPlan& plan);

// Whether two secret values are equal, compared in constant time (no timing tells how much of a
// value matched).
bool SameSecretValue(absl::string_view a, absl::string_view b);

// The secrets `plan` writes (CREATE or UPDATE), by name.
std::vector<std::string> SecretsToWrite(const v1::MigrationPlan& plan);

// Reads back every secret `report` says the target holds the package's value of (CREATE,
// UPDATE, UNCHANGED) and adds to `out` one problem per secret that is missing or holds another
// value, naming the secret and never a value. Errors of `store` other than NotFound pass through.
absl::Status VerifySecrets(const v1::MigrationPackage& package, const v1::MigrationReport& report,
                           client::SecretClient& store, v1::Verification& out);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_PLAN_SECRETS_H_
