#include "migration/plan_secrets.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "migration/package.h"
#include "migration/plan.h"
#include "migration/plan_internal.h"

namespace cmig::migration {
namespace {

using Key = std::array<unsigned char, 32>;

std::string KeyedHash(const Key& key, absl::string_view value) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), mac, &len);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(mac), static_cast<size_t>(len)));
}

bool Blocks(v1::ItemAction a) {
  return a == v1::ITEM_ACTION_CONFLICT || a == v1::ITEM_ACTION_BLOCKED;
}

}  // namespace

absl::Status PlanSecrets(const v1::MigrationPackage& package, client::SecretClient* store,
                         v1::MigrationPlan& plan) {
  if (package.secrets().empty()) return absl::OkStatus();
  Key key;
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return absl::InternalError("drawing a key to compare secrets failed");
  }
  v1::ConflictStrategy conflict = package.options().conflict_strategy();
  if (conflict == v1::CONFLICT_STRATEGY_UNSPECIFIED) conflict = v1::CONFLICT_STRATEGY_FAIL;
  const bool skip_blocked = package.options().on_blocked() == v1::ON_BLOCKED_SKIP;

  std::vector<v1::PlannedItem> items;
  std::set<std::string> held_after;  // secrets the target holds once the plan is applied
  for (const v1::SecretValue& s : package.secrets()) {
    v1::PlannedItem item;
    item.set_kind(v1::ITEM_KIND_SECRET);
    item.set_name(s.name());
    item.set_source_sha256(KeyedHash(key, s.value()));
    item.set_planned_sha256(item.source_sha256());
    const std::string what = DescribeItem(v1::ITEM_KIND_SECRET, s.name(), 0);
    absl::StatusOr<std::string> current =
        store == nullptr ? absl::UnimplementedError("no secret store") : store->GetSecret(s.name());
    if (absl::IsUnimplemented(current.status())) {
      item.set_action(v1::ITEM_ACTION_BLOCKED);
      item.add_reasons(
          absl::StrCat(what,
                       " cannot be written: the target has no secret API; migrate without "
                       "--include-secrets and set it there by hand"));
    } else if (absl::IsNotFound(current.status())) {
      item.set_action(v1::ITEM_ACTION_CREATE);
    } else if (!current.ok()) {
      return absl::Status(current.status().code(),
                          absl::StrCat("reading ", what, " in the target to compare it: ",
                                       current.status().message()));
    } else {
      item.set_target_sha256(KeyedHash(key, *current));
      if (SameSecretValue(*current, s.value())) {
        item.set_action(v1::ITEM_ACTION_UNCHANGED);
      } else {
        ResolveDifference(conflict, &item, absl::StrCat("the value of ", what));
      }
    }
    if (skip_blocked && Blocks(item.action())) {
      item.set_action(v1::ITEM_ACTION_LEFT_OUT);
      item.mutable_reasons()->Add("left out: on-blocked skip; the target keeps what it holds");
      std::rotate(item.mutable_reasons()->rbegin(), item.mutable_reasons()->rbegin() + 1,
                  item.mutable_reasons()->rend());
    }
    if (item.action() != v1::ITEM_ACTION_BLOCKED &&
        (item.action() != v1::ITEM_ACTION_LEFT_OUT || !item.target_sha256().empty())) {
      held_after.insert(s.name());
    }
    if (Blocks(item.action())) {
      plan.set_blocked(true);
      for (const std::string& r : item.reasons()) plan.add_blocking_problems(r);
    }
    items.push_back(std::move(item));
  }
  // Secrets first: the apply writes them before the definitions that read them.
  google::protobuf::RepeatedPtrField<v1::PlannedItem> all;
  for (v1::PlannedItem& i : items) *all.Add() = std::move(i);
  for (v1::PlannedItem& i : *plan.mutable_items()) *all.Add() = std::move(i);
  plan.mutable_items()->Swap(&all);
  *plan.mutable_counts() = CountItems(plan);

  google::protobuf::RepeatedPtrField<v1::Dependency> manual;
  for (const v1::Dependency& d : plan.manual_dependencies()) {
    if (d.kind() == v1::DEPENDENCY_KIND_SECRET && held_after.count(d.name()) > 0) continue;
    *manual.Add() = d;
  }
  plan.mutable_manual_dependencies()->Swap(&manual);
  return absl::OkStatus();
}

std::vector<std::string> SecretsToWrite(const v1::MigrationPlan& plan) {
  std::vector<std::string> names;
  for (const v1::PlannedItem& p : plan.items()) {
    if (p.kind() == v1::ITEM_KIND_SECRET &&
        (p.action() == v1::ITEM_ACTION_CREATE || p.action() == v1::ITEM_ACTION_UPDATE)) {
      names.push_back(p.name());
    }
  }
  return names;
}

absl::Status VerifySecrets(const v1::MigrationPackage& package, const v1::MigrationReport& report,
                           client::SecretClient& store, v1::Verification& out) {
  std::map<std::string, const std::string*> values;
  for (const v1::SecretValue& s : package.secrets()) values[s.name()] = &s.value();
  for (const v1::ItemReport& item : report.items()) {
    const v1::ItemAction a = item.status();
    if (item.kind() != v1::ITEM_KIND_SECRET ||
        (a != v1::ITEM_ACTION_CREATE && a != v1::ITEM_ACTION_UPDATE &&
         a != v1::ITEM_ACTION_UNCHANGED)) {
      continue;
    }
    const std::string what = DescribeItem(v1::ITEM_KIND_SECRET, item.name(), 0);
    auto expected = values.find(item.name());
    if (expected == values.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the report names ", what, ", which the package does not carry"));
    }
    out.set_checked(out.checked() + 1);
    absl::StatusOr<std::string> held = store.GetSecret(item.name());
    if (absl::IsNotFound(held.status())) {
      out.add_problems(absl::StrCat(what, " is missing from the target"));
    } else if (!held.ok()) {
      return absl::Status(held.status().code(),
                          absl::StrCat("reading back ", what, ": ", held.status().message()));
    } else if (!SameSecretValue(*held, *expected->second)) {
      out.add_problems(absl::StrCat(what,
                                    " in the target holds another value than the one "
                                    "the migration wrote"));
    }
  }
  out.set_ok(out.problems().empty());
  return absl::OkStatus();
}

bool SameSecretValue(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cmig::migration
