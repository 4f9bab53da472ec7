#include "migration/definition_diff.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "definitions/json.h"

namespace cmig::migration {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Value;

constexpr char kRefKey[] = "taskReferenceName";

std::string Shown(const Value* v) {
  if (v == nullptr) return "";
  std::string json = WriteJson(*v);
  if (json.size() <= kMaxDifferenceValueBytes) return json;
  size_t cut = kMaxDifferenceValueBytes;
  // Never split a UTF-8 sequence: back up over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(json[cut]) & 0xC0) == 0x80) --cut;
  json.resize(cut);
  json += "...";
  return json;
}

// The reference names of a list of tasks, in order; empty when `list` is not one (an element
// that is no object, has no string reference name, or repeats one).
std::vector<std::string> ReferenceNames(const ListValue& list) {
  std::vector<std::string> names;
  std::map<std::string, int> seen;
  for (const Value& v : list.values()) {
    if (!v.has_struct_value()) return {};
    auto it = v.struct_value().fields().find(kRefKey);
    if (it == v.struct_value().fields().end() || !it->second.has_string_value()) return {};
    if (!seen.emplace(it->second.string_value(), 0).second) return {};
    names.push_back(it->second.string_value());
  }
  return names;
}

Value NameList(const std::vector<std::string>& names) {
  Value v;
  for (const std::string& n : names) v.mutable_list_value()->add_values()->set_string_value(n);
  return v;
}

class Differ {
 public:
  DefinitionDiff Take() { return std::move(diff_); }

  void Compare(const std::string& path, const Value* target, const Value* package) {
    if (target != nullptr && package != nullptr) {
      if (target->has_struct_value() && package->has_struct_value()) {
        CompareObjects(path, *target, *package);
        return;
      }
      if (target->has_list_value() && package->has_list_value()) {
        CompareLists(path, target->list_value(), package->list_value());
        return;
      }
      if (WriteJson(*target) == WriteJson(*package)) return;
    }
    Add(path, Shown(target), Shown(package));
  }

 private:
  void Add(const std::string& path, std::string target, std::string package) {
    if (static_cast<int>(diff_.differences.size()) >= kMaxDifferences) {
      ++diff_.more;
      return;
    }
    v1::FieldDifference& d = diff_.differences.emplace_back();
    // Paths start at the root: "timeoutSeconds", not ".timeoutSeconds".
    d.set_path(!path.empty() && path[0] == '.' ? path.substr(1) : path);
    d.set_target(std::move(target));
    d.set_package(std::move(package));
  }

  void CompareObjects(const std::string& path, const Value& target, const Value& package) {
    // Both maps in key order, merged, so differences come out sorted by key.
    std::map<std::string, std::pair<const Value*, const Value*>> keys;
    for (const auto& [k, v] : target.struct_value().fields()) keys[k].first = &v;
    for (const auto& [k, v] : package.struct_value().fields()) keys[k].second = &v;
    for (const auto& [k, sides] : keys) Compare(JsonPathChild(path, k), sides.first, sides.second);
  }

  void CompareLists(const std::string& path, const ListValue& target, const ListValue& package) {
    std::vector<std::string> target_refs = ReferenceNames(target);
    std::vector<std::string> package_refs = ReferenceNames(package);
    if (target_refs.empty() || package_refs.empty()) {
      const int n = std::max(target.values_size(), package.values_size());
      for (int i = 0; i < n; ++i) {
        Compare(JsonPathIndex(path, i), i < target.values_size() ? &target.values(i) : nullptr,
                i < package.values_size() ? &package.values(i) : nullptr);
      }
      return;
    }
    std::map<std::string, int> in_target;
    for (int i = 0; i < target.values_size(); ++i) in_target[target_refs[i]] = i;
    std::map<std::string, int> in_package;
    for (int i = 0; i < package.values_size(); ++i) in_package[package_refs[i]] = i;
    // The order of the tasks both sides hold, when it changed.
    std::vector<std::string> common_target;
    for (const std::string& r : target_refs) {
      if (in_package.count(r) > 0) common_target.push_back(r);
    }
    std::vector<std::string> common_package;
    for (const std::string& r : package_refs) {
      if (in_target.count(r) > 0) common_package.push_back(r);
    }
    if (common_target != common_package) {
      const Value was = NameList(common_target);
      const Value is = NameList(common_package);
      Add(absl::StrCat(path, " (order)"), Shown(&was), Shown(&is));
    }
    // Removed tasks first, in the target's order; then the package's tasks in its order.
    for (const std::string& r : target_refs) {
      if (in_package.count(r) == 0) {
        Add(RefPath(path, r), Shown(&target.values(in_target[r])), "");
      }
    }
    for (const std::string& r : package_refs) {
      auto t = in_target.find(r);
      Compare(RefPath(path, r), t == in_target.end() ? nullptr : &target.values(t->second),
              &package.values(in_package[r]));
    }
  }

  static std::string RefPath(const std::string& path, const std::string& ref) {
    return absl::StrCat(path, "[", kRefKey, "=", ref, "]");
  }

  DefinitionDiff diff_;
};

}  // namespace

DefinitionDiff DiffDefinitions(const Value& target, const Value& package) {
  Differ d;
  d.Compare("", &target, &package);
  return d.Take();
}

absl::StatusOr<DefinitionDiff> DiffDefinitions(absl::string_view target_json,
                                               absl::string_view package_json) {
  absl::StatusOr<Value> target = ParseJson(target_json);
  if (!target.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the target's definition does not parse: ", target.status().message()));
  }
  absl::StatusOr<Value> package = ParseJson(package_json);
  if (!package.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the package's definition does not parse: ", package.status().message()));
  }
  return DiffDefinitions(*target, *package);
}

void AttachDifferences(absl::string_view target_json, absl::string_view package_json,
                       v1::PlannedItem* item) {
  absl::StatusOr<DefinitionDiff> diff = DiffDefinitions(target_json, package_json);
  if (!diff.ok()) return;
  item->clear_differences();
  for (v1::FieldDifference& f : diff->differences) *item->add_differences() = std::move(f);
  item->set_more_differences(diff->more);
}

}  // namespace cmig::migration
