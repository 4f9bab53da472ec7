#include "migration/references.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/task_types.h"

namespace cmig::migration {
namespace {

namespace cp = conductor::proto;
namespace pb = google::protobuf;

constexpr absl::string_view kSecretPrefix = "${workflow.secrets.";
constexpr absl::string_view kEnvPrefix = "${workflow.env.";

bool IsExpression(absl::string_view s) { return absl::StrContains(s, "${"); }

// Conductor takes a failureWorkflow that starts with '$' ("$workflow.input.NAME") as a path into
// the workflow's input, read when the workflow fails.
bool IsFailureWorkflowFromInput(absl::string_view s) {
  return absl::StartsWith(s, "$") || IsExpression(s);
}

std::vector<std::string> SortedKeys(const pb::Map<std::string, pb::Value>& m) {
  std::vector<std::string> keys;
  keys.reserve(m.size());
  for (const auto& [k, unused] : m) {
    keys.push_back(k);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

class Scanner {
 public:
  explicit Scanner(WorkflowReferences* out) : out_(out) {}

  void ScanDef(const cp::WorkflowDef& def, const v1::Referrer& base, const std::string& prefix) {
    // Tasks run in the workflow named by `def`: the outer one, or an inline sub-workflow.
    const std::string outer = std::exchange(running_, def.name());
    if (!def.failure_workflow().empty()) {
      v1::Referrer r = base;
      r.set_field("failureWorkflow");
      if (IsFailureWorkflowFromInput(def.failure_workflow())) {
        AddUnresolved(v1::UNRESOLVED_KIND_EXPRESSION, v1::ITEM_KIND_WORKFLOW_DEF,
                      def.failure_workflow(), def.failure_workflow_version(), r,
                      "Conductor reads the failure workflow's name from the workflow's input at "
                      "run time; migrate the workflows it may name explicitly");
      } else {
        AddWorkflowRef(def.failure_workflow(), def.failure_workflow_version(), r,
                       "the failure workflow is chosen at run time");
      }
    }
    if (!def.workflow_status_listener_sink().empty()) {
      v1::Referrer r = base;
      r.set_field("workflowStatusListenerSink");
      AddDependency(v1::DEPENDENCY_KIND_EVENT_SINK, def.workflow_status_listener_sink(), r);
    }
    ScanMap(def.output_parameters(), base, "outputParameters");
    ScanMap(def.input_template(), base, "inputTemplate");
    ScanMap(def.variables(), base, "variables");
    for (const cp::WorkflowTask& t : def.tasks()) {
      ScanTask(t, base, prefix);
    }
    running_ = outer;
  }

 private:
  void ScanTask(const cp::WorkflowTask& t, const v1::Referrer& base, const std::string& prefix) {
    v1::Referrer r = base;
    r.set_task_reference_name(prefix + t.task_reference_name());
    const std::string& type = t.type();

    ScanMap(t.input_parameters(), r, "inputParameters");
    for (auto [field, value] :
         {std::pair<const char*, const std::string*>{"expression", &t.expression()},
          {"scriptExpression", &t.script_expression()},
          {"caseExpression", &t.case_expression()},
          {"loopCondition", &t.loop_condition()}}) {
      v1::Referrer fr = r;
      fr.set_field(field);
      ScanString(*value, fr);
    }

    if (type.empty() || type == "SIMPLE") {
      v1::Referrer fr = r;
      fr.set_field("name");
      out_->task_defs.push_back({t.name(), !t.has_task_definition(), fr});
    } else {
      v1::Referrer fr = r;
      fr.set_field("type");
      AddDependency(v1::DEPENDENCY_KIND_SYSTEM_TASK_TYPE, type, fr);
      if (!IsControlFlowTaskType(type) && !t.name().empty()) {
        fr.set_field("name");
        out_->task_defs.push_back({t.name(), false, fr});
      }
    }

    if (type == "SUB_WORKFLOW") {
      ScanSubWorkflow(t, r, prefix);
    }
    if (type == "START_WORKFLOW") {
      ScanStartWorkflow(t, r);
    }
    if (type == "EVENT" && !t.sink().empty()) {
      v1::Referrer fr = r;
      fr.set_field("sink");
      if (std::optional<std::string> event =
              ConductorEventPublished(running_, t.sink(), t.task_reference_name())) {
        out_->events.push_back({*std::move(event), fr});
      } else {
        AddDependency(v1::DEPENDENCY_KIND_EVENT_SINK, t.sink(), fr);
      }
    }
    if (type == "DYNAMIC") {
      ScanDynamic(t, r);
    }
    if (type == "FORK_JOIN_DYNAMIC") {
      v1::Referrer fr = r;
      fr.set_field("dynamicForkTasksParam");
      AddUnresolved(v1::UNRESOLVED_KIND_DYNAMIC_FORK, v1::ITEM_KIND_UNSPECIFIED,
                    t.dynamic_fork_tasks_param(), 0, fr,
                    "the forked tasks are chosen at run time; migrate their task definitions and "
                    "sub-workflows explicitly");
    }

    std::vector<std::string> cases;
    for (const auto& [k, unused] : t.decision_cases()) {
      cases.push_back(k);
    }
    std::sort(cases.begin(), cases.end());
    for (const std::string& c : cases) {
      for (const cp::WorkflowTask& child : t.decision_cases().at(c).tasks()) {
        ScanTask(child, base, prefix);
      }
    }
    for (const cp::WorkflowTask& child : t.default_case()) {
      ScanTask(child, base, prefix);
    }
    for (const cp::WorkflowTask::WorkflowTaskList& branch : t.fork_tasks()) {
      for (const cp::WorkflowTask& child : branch.tasks()) {
        ScanTask(child, base, prefix);
      }
    }
    for (const cp::WorkflowTask& child : t.loop_over()) {
      ScanTask(child, base, prefix);
    }
  }

  void ScanSubWorkflow(const cp::WorkflowTask& t, const v1::Referrer& r,
                       const std::string& prefix) {
    if (!t.has_sub_workflow_param()) {
      v1::Referrer fr = r;
      fr.set_field("subWorkflowParam");
      AddUnresolved(v1::UNRESOLVED_KIND_EXPRESSION, v1::ITEM_KIND_WORKFLOW_DEF, "", 0, fr,
                    "SUB_WORKFLOW task without subWorkflowParam names no workflow");
      return;
    }
    const cp::SubWorkflowParams& p = t.sub_workflow_param();
    std::vector<std::pair<std::string, std::string>> domains(p.task_to_domain().begin(),
                                                             p.task_to_domain().end());
    std::sort(domains.begin(), domains.end());
    for (const auto& [task, domain] : domains) {
      v1::Referrer fr = r;
      fr.set_field("subWorkflowParam.taskToDomain");
      AddDependency(v1::DEPENDENCY_KIND_TASK_TO_DOMAIN, absl::StrCat(task, "=", domain), fr);
    }
    if (p.has_workflow_definition() &&
        p.workflow_definition().kind_case() != pb::Value::kNullValue) {
      v1::Referrer fr = r;
      fr.set_field("subWorkflowParam.workflowDefinition");
      auto inline_def = WorkflowDefFromValue(p.workflow_definition(), nullptr);
      if (!inline_def.ok()) {
        AddUnresolved(v1::UNRESOLVED_KIND_EXPRESSION, v1::ITEM_KIND_WORKFLOW_DEF,
                      p.workflow_definition().kind_case() == pb::Value::kStringValue
                          ? p.workflow_definition().string_value()
                          : p.name(),
                      0, fr,
                      absl::StrCat("the inline sub-workflow definition cannot be read statically: ",
                                   inline_def.status().message()));
        return;
      }
      // The inline definition is part of this workflow: its own references are this
      // workflow's references.
      ScanDef(*inline_def, r, absl::StrCat(prefix, t.task_reference_name(), "/"));
      return;
    }
    v1::Referrer fr = r;
    fr.set_field("subWorkflowParam.name");
    AddWorkflowRef(p.name(), p.version(), fr, "the sub-workflow is chosen at run time");
  }

  void ScanStartWorkflow(const cp::WorkflowTask& t, const v1::Referrer& r) {
    v1::Referrer fr = r;
    fr.set_field("inputParameters.startWorkflow");
    auto it = t.input_parameters().find("startWorkflow");
    if (it == t.input_parameters().end() || !it->second.has_struct_value()) {
      AddUnresolved(v1::UNRESOLVED_KIND_EXPRESSION, v1::ITEM_KIND_WORKFLOW_DEF,
                    it == t.input_parameters().end() ? "" : it->second.string_value(), 0, fr,
                    "the started workflow is chosen at run time");
      return;
    }
    const auto& fields = it->second.struct_value().fields();
    auto name_it = fields.find("name");
    std::string name = name_it == fields.end() ? "" : name_it->second.string_value();
    int32_t version = 0;
    auto v_it = fields.find("version");
    if (v_it != fields.end()) {
      const pb::Value& v = v_it->second;
      if (v.kind_case() == pb::Value::kNumberValue) {
        version = static_cast<int32_t>(v.number_value());
      } else if (v.kind_case() == pb::Value::kStringValue && !v.string_value().empty() &&
                 !absl::SimpleAtoi(v.string_value(), &version)) {
        if (!IsExpression(name) && !name.empty()) {
          v1::Referrer vr = fr;
          vr.set_field("inputParameters.startWorkflow.version");
          AddUnresolved(v1::UNRESOLVED_KIND_EXPRESSION, v1::ITEM_KIND_WORKFLOW_DEF, name, 0, vr,
                        absl::StrCat("the version is chosen at run time (", v.string_value(),
                                     "); the latest version is migrated"));
        }
        version = 0;
      }
    }
    if (auto d = fields.find("taskToDomain");
        d != fields.end() && d->second.kind_case() == pb::Value::kStructValue) {
      v1::Referrer dr = fr;
      dr.set_field("inputParameters.startWorkflow.taskToDomain");
      for (const std::string& task : SortedKeys(d->second.struct_value().fields())) {
        AddDependency(
            v1::DEPENDENCY_KIND_TASK_TO_DOMAIN,
            absl::StrCat(task, "=", d->second.struct_value().fields().at(task).string_value()), dr);
      }
    }
    fr.set_field("inputParameters.startWorkflow.name");
    AddWorkflowRef(name, version, fr, "the started workflow is chosen at run time");
  }

  void ScanDynamic(const cp::WorkflowTask& t, const v1::Referrer& r) {
    v1::Referrer fr = r;
    fr.set_field("dynamicTaskNameParam");
    auto it = t.input_parameters().find(t.dynamic_task_name_param());
    if (it != t.input_parameters().end() && it->second.kind_case() == pb::Value::kStringValue &&
        !it->second.string_value().empty() && !IsExpression(it->second.string_value())) {
      fr.set_field(absl::StrCat("inputParameters.", t.dynamic_task_name_param()));
      out_->task_defs.push_back({it->second.string_value(), true, fr});
      return;
    }
    AddUnresolved(v1::UNRESOLVED_KIND_DYNAMIC_TASK, v1::ITEM_KIND_TASK_DEF,
                  t.dynamic_task_name_param(), 0, fr,
                  "the task is chosen at run time; migrate the task definitions it may run "
                  "explicitly");
  }

  void AddWorkflowRef(const std::string& name, int32_t version, const v1::Referrer& r,
                      absl::string_view dynamic_detail) {
    if (name.empty() || IsExpression(name)) {
      AddUnresolved(v1::UNRESOLVED_KIND_EXPRESSION, v1::ITEM_KIND_WORKFLOW_DEF, name, version, r,
                    name.empty() ? "no workflow name is given" : dynamic_detail);
      return;
    }
    out_->workflows.push_back({name, version, r});
  }

  void ScanMap(const pb::Map<std::string, pb::Value>& m, const v1::Referrer& r,
               absl::string_view field) {
    for (const std::string& k : SortedKeys(m)) {
      v1::Referrer fr = r;
      fr.set_field(absl::StrCat(field, ".", k));
      ScanValue(m.at(k), fr);
    }
  }

  void ScanValue(const pb::Value& v, const v1::Referrer& r) {
    switch (v.kind_case()) {
      case pb::Value::kStringValue:
        ScanString(v.string_value(), r);
        break;
      case pb::Value::kStructValue:
        for (const std::string& k : SortedKeys(v.struct_value().fields())) {
          ScanString(k, r);
          ScanValue(v.struct_value().fields().at(k), r);
        }
        break;
      case pb::Value::kListValue:
        for (const pb::Value& e : v.list_value().values()) {
          ScanValue(e, r);
        }
        break;
      default:
        break;
    }
  }

  void ScanString(absl::string_view s, const v1::Referrer& r) {
    if (s.find("${workflow.") == absl::string_view::npos) {
      return;
    }
    ScanPrefix(s, kSecretPrefix, v1::DEPENDENCY_KIND_SECRET, r);
    ScanPrefix(s, kEnvPrefix, v1::DEPENDENCY_KIND_ENVIRONMENT_VARIABLE, r);
  }

  void ScanPrefix(absl::string_view s, absl::string_view prefix, v1::DependencyKind kind,
                  const v1::Referrer& r) {
    for (size_t pos = s.find(prefix); pos != absl::string_view::npos;
         pos = s.find(prefix, pos + 1)) {
      size_t start = pos + prefix.size();
      size_t end = start;
      while (end < s.size() &&
             (std::isalnum(static_cast<unsigned char>(s[end])) || s[end] == '_' || s[end] == '-')) {
        ++end;
      }
      if (end > start) {
        AddDependency(kind, std::string(s.substr(start, end - start)), r);
      }
    }
  }

  void AddDependency(v1::DependencyKind kind, std::string name, const v1::Referrer& r) {
    out_->dependencies.push_back({kind, std::move(name), r});
  }

  void AddUnresolved(v1::UnresolvedKind kind, v1::ItemKind target, const std::string& name,
                     int32_t version, const v1::Referrer& r, absl::string_view detail) {
    v1::UnresolvedReference u;
    u.set_kind(kind);
    u.set_target_kind(target);
    u.set_name(name);
    u.set_version(version);
    *u.mutable_referenced_by() = r;
    u.set_detail(std::string(detail));
    out_->unresolved.push_back(std::move(u));
  }

  WorkflowReferences* out_;
  std::string running_;
};

// Returns true when something changed.
bool RewriteVersionValue(pb::Value* v, absl::string_view name, const VersionRewrite& rewrite) {
  int32_t version = 0;
  if (v->kind_case() == pb::Value::kNumberValue) {
    version = static_cast<int32_t>(v->number_value());
  } else if (v->kind_case() == pb::Value::kStringValue) {
    if (!absl::SimpleAtoi(v->string_value(), &version)) {
      return false;
    }
  } else {
    return false;
  }
  if (version == 0) {
    return false;
  }
  std::optional<int32_t> to = rewrite(name, version);
  if (!to.has_value() || *to == version) {
    return false;
  }
  if (v->kind_case() == pb::Value::kNumberValue) {
    v->set_number_value(*to);
  } else {
    v->set_string_value(absl::StrCat(*to));
  }
  return true;
}

int RewriteTask(cp::WorkflowTask* t, const VersionRewrite& rewrite) {
  int changed = 0;
  if (t->type() == "SUB_WORKFLOW" && t->has_sub_workflow_param()) {
    cp::SubWorkflowParams* p = t->mutable_sub_workflow_param();
    if (p->has_workflow_definition() && p->workflow_definition().has_struct_value()) {
      auto inline_def = WorkflowDefFromValue(p->workflow_definition(), nullptr);
      if (inline_def.ok()) {
        int n = RewriteWorkflowReferences(&*inline_def, rewrite);
        if (n > 0) {
          *p->mutable_workflow_definition() = WorkflowDefToValue(*inline_def);
        }
        changed += n;
      }
    } else if (p->version() != 0 && !IsExpression(p->name())) {
      std::optional<int32_t> to = rewrite(p->name(), p->version());
      if (to.has_value() && *to != p->version()) {
        p->set_version(*to);
        ++changed;
      }
    }
  }
  if (t->type() == "START_WORKFLOW") {
    auto it = t->mutable_input_parameters()->find("startWorkflow");
    if (it != t->mutable_input_parameters()->end() && it->second.has_struct_value()) {
      auto* fields = it->second.mutable_struct_value()->mutable_fields();
      auto name_it = fields->find("name");
      auto v_it = fields->find("version");
      if (name_it != fields->end() && v_it != fields->end() &&
          !IsExpression(name_it->second.string_value()) &&
          RewriteVersionValue(&v_it->second, name_it->second.string_value(), rewrite)) {
        ++changed;
      }
    }
  }
  for (auto& [unused, list] : *t->mutable_decision_cases()) {
    for (cp::WorkflowTask& child : *list.mutable_tasks()) {
      changed += RewriteTask(&child, rewrite);
    }
  }
  for (cp::WorkflowTask& child : *t->mutable_default_case()) {
    changed += RewriteTask(&child, rewrite);
  }
  for (auto& branch : *t->mutable_fork_tasks()) {
    for (cp::WorkflowTask& child : *branch.mutable_tasks()) {
      changed += RewriteTask(&child, rewrite);
    }
  }
  for (cp::WorkflowTask& child : *t->mutable_loop_over()) {
    changed += RewriteTask(&child, rewrite);
  }
  return changed;
}

}  // namespace

WorkflowReferences ScanWorkflow(const cp::WorkflowDef& def) {
  WorkflowReferences out;
  v1::Referrer base;
  base.set_workflow_name(def.name());
  base.set_workflow_version(def.version());
  Scanner(&out).ScanDef(def, base, "");
  return out;
}

int RewriteWorkflowReferences(cp::WorkflowDef* def, const VersionRewrite& rewrite) {
  int changed = 0;
  if (!def->failure_workflow().empty() && def->failure_workflow_version() != 0 &&
      !IsFailureWorkflowFromInput(def->failure_workflow())) {
    std::optional<int32_t> to = rewrite(def->failure_workflow(), def->failure_workflow_version());
    if (to.has_value() && *to != def->failure_workflow_version()) {
      def->set_failure_workflow_version(*to);
      ++changed;
    }
  }
  for (cp::WorkflowTask& t : *def->mutable_tasks()) {
    changed += RewriteTask(&t, rewrite);
  }
  return changed;
}

std::set<std::string> DefaultTaskDefinitionNames(
    const google::protobuf::RepeatedPtrField<v1::Dependency>& dependencies) {
  std::set<std::string> names;
  for (const v1::Dependency& d : dependencies) {
    if (d.kind() == v1::DEPENDENCY_KIND_DEFAULT_TASK_DEFINITION) names.insert(d.name());
  }
  return names;
}

std::string DescribeWorkflow(absl::string_view name, int32_t version) {
  if (version == 0) {
    return absl::StrCat("workflow '", name, "' (latest version)");
  }
  return absl::StrCat("workflow '", name, "' version ", version);
}

std::optional<std::string> ConductorEventPublished(absl::string_view workflow_name,
                                                   absl::string_view sink,
                                                   absl::string_view task_reference_name) {
  if (sink == "conductor") {
    return absl::StrCat("conductor:", workflow_name, ":", task_reference_name);
  }
  if (absl::StartsWith(sink, "conductor:") && sink.size() > 10) {
    return absl::StrCat("conductor:", workflow_name, ":", sink.substr(10));
  }
  return std::nullopt;
}

std::string DescribeReferrer(const v1::Referrer& r) {
  if (!r.schedule().empty()) {
    std::string s = absl::StrCat("schedule '", r.schedule(), "'");
    if (!r.field().empty()) absl::StrAppend(&s, " (", r.field(), ")");
    return s;
  }
  if (!r.event_handler().empty()) {
    std::string s = absl::StrCat("event handler '", r.event_handler(), "'");
    if (!r.field().empty()) absl::StrAppend(&s, " (", r.field(), ")");
    return s;
  }
  std::string s = DescribeWorkflow(r.workflow_name(), r.workflow_version());
  if (!r.task_reference_name().empty()) {
    absl::StrAppend(&s, ", task '", r.task_reference_name(), "'");
  }
  if (!r.field().empty()) {
    absl::StrAppend(&s, " (", r.field(), ")");
  }
  return s;
}

}  // namespace cmig::migration
