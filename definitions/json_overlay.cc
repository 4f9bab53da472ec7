#include "definitions/json_overlay.h"

#include <map>

#include "definitions/json.h"

namespace cmig {

using google::protobuf::Value;

Value KeysMissingFrom(const Value& original, const Value& converted) {
  Value out;
  out.set_null_value(google::protobuf::NULL_VALUE);
  if (original.kind_case() == Value::kStructValue && converted.kind_case() == Value::kStructValue) {
    const auto& have = converted.struct_value().fields();
    Value missing;
    auto& fields = *missing.mutable_struct_value()->mutable_fields();
    for (const auto& [key, value] : original.struct_value().fields()) {
      if (value.kind_case() == Value::kNullValue) continue;
      auto it = have.find(key);
      if (it == have.end()) {
        fields[key] = value;
        continue;
      }
      Value inner = KeysMissingFrom(value, it->second);
      if (inner.kind_case() != Value::kNullValue) fields[key] = std::move(inner);
    }
    if (!fields.empty()) out = std::move(missing);
    return out;
  }
  if (original.kind_case() == Value::kListValue && converted.kind_case() == Value::kListValue &&
      original.list_value().values_size() == converted.list_value().values_size()) {
    Value missing;
    bool any = false;
    for (int i = 0; i < original.list_value().values_size(); ++i) {
      Value inner =
          KeysMissingFrom(original.list_value().values(i), converted.list_value().values(i));
      any = any || inner.kind_case() != Value::kNullValue;
      *missing.mutable_list_value()->add_values() = std::move(inner);
    }
    if (any) out = std::move(missing);
  }
  return out;
}

void AddMissingKeys(const Value& extra, Value* target) {
  if (extra.kind_case() == Value::kStructValue && target->kind_case() == Value::kStructValue) {
    auto& fields = *target->mutable_struct_value()->mutable_fields();
    for (const auto& [key, value] : extra.struct_value().fields()) {
      auto it = fields.find(key);
      if (it == fields.end()) {
        fields[key] = value;
      } else {
        AddMissingKeys(value, &it->second);
      }
    }
    return;
  }
  if (extra.kind_case() == Value::kListValue && target->kind_case() == Value::kListValue &&
      extra.list_value().values_size() == target->list_value().values_size()) {
    for (int i = 0; i < extra.list_value().values_size(); ++i) {
      AddMissingKeys(extra.list_value().values(i), target->mutable_list_value()->mutable_values(i));
    }
  }
}

namespace {

void CollectMissing(const Value& extra, const Value& target, const std::string& path,
                    std::vector<std::string>* out) {
  if (extra.kind_case() == Value::kStructValue) {
    // Sorted, so the paths come out in a stable order.
    std::map<std::string, const Value*> members;
    for (const auto& [key, value] : extra.struct_value().fields()) members[key] = &value;
    for (const auto& [key, value] : members) {
      const std::string child = JsonPathChild(path, key);
      const Value* present = nullptr;
      if (target.kind_case() == Value::kStructValue) {
        auto it = target.struct_value().fields().find(key);
        if (it != target.struct_value().fields().end()) present = &it->second;
      }
      if (present == nullptr) {
        out->push_back(child);
      } else {
        CollectMissing(*value, *present, child, out);
      }
    }
    return;
  }
  if (extra.kind_case() == Value::kListValue && target.kind_case() == Value::kListValue &&
      extra.list_value().values_size() == target.list_value().values_size()) {
    for (int i = 0; i < extra.list_value().values_size(); ++i) {
      CollectMissing(extra.list_value().values(i), target.list_value().values(i),
                     JsonPathIndex(path, i), out);
    }
  }
}

}  // namespace

std::vector<std::string> MissingKeyPaths(const Value& extra, const Value& target) {
  std::vector<std::string> out;
  CollectMissing(extra, target, "$", &out);
  return out;
}

}  // namespace cmig
