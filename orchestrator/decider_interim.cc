// Stand-in for decider.cc until the real decider lands: runs the top-level
// tasks of a definition one after another as worker tasks, resolves
// ${workflow.input.x} / ${ref.output.x} references, retries failures per
// retryCount with the definition's fixed delay and times out silent workers.
// Removed when orchestrator/decider.cc is merged.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "orchestrator/decider.h"

namespace cmig::orchestrator {
namespace {

using conductor::proto::Task;
using conductor::proto::Workflow;

const google::protobuf::Value* Lookup(const google::protobuf::Value& root,
                                      const std::vector<std::string>& path, size_t from) {
  const google::protobuf::Value* v = &root;
  for (size_t i = from; i < path.size(); ++i) {
    if (!v->has_struct_value()) return nullptr;
    auto it = v->struct_value().fields().find(path[i]);
    if (it == v->struct_value().fields().end()) return nullptr;
    v = &it->second;
  }
  return v;
}

google::protobuf::Value AsValue(
    const google::protobuf::Map<std::string, google::protobuf::Value>& m) {
  google::protobuf::Value v;
  *v.mutable_struct_value()->mutable_fields() = m;
  return v;
}

std::optional<google::protobuf::Value> ResolveRef(const std::string& expr, const Workflow& wf) {
  std::vector<std::string> path = absl::StrSplit(expr, '.');
  if (path.size() >= 2 && path[0] == "workflow") {
    if (path[1] == "workflowId") {
      google::protobuf::Value v;
      v.set_string_value(wf.workflow_id());
      return v;
    }
    if (path[1] == "correlationId") {
      google::protobuf::Value v;
      v.set_string_value(wf.correlation_id());
      return v;
    }
    if (path[1] == "input") {
      const google::protobuf::Value root = AsValue(wf.input());
      if (const auto* v = Lookup(root, path, 2)) return *v;
    }
    return std::nullopt;
  }
  if (path.size() >= 2) {
    for (int i = wf.tasks_size() - 1; i >= 0; --i) {
      const Task& t = wf.tasks(i);
      if (t.reference_task_name() != path[0]) continue;
      const google::protobuf::Value root =
          AsValue(path[1] == "output" ? t.output_data() : t.input_data());
      if (const auto* v = Lookup(root, path, 2)) return *v;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

Task* Latest(Workflow& wf, const std::string& ref) {
  for (int i = wf.tasks_size() - 1; i >= 0; --i) {
    if (wf.tasks(i).reference_task_name() == ref) return wf.mutable_tasks(i);
  }
  return nullptr;
}

}  // namespace

google::protobuf::Value ResolveExpressions(const google::protobuf::Value& t, const Workflow& wf) {
  if (t.has_string_value()) {
    const std::string& s = t.string_value();
    if (absl::StartsWith(s, "${") && absl::EndsWith(s, "}") &&
        s.find("${", 2) == std::string::npos) {
      auto v = ResolveRef(s.substr(2, s.size() - 3), wf);
      if (v) return *v;
      google::protobuf::Value null;
      null.set_null_value(google::protobuf::NULL_VALUE);
      return null;
    }
    return t;
  }
  if (t.has_struct_value()) {
    google::protobuf::Value out;
    auto* f = out.mutable_struct_value()->mutable_fields();
    for (const auto& [k, v] : t.struct_value().fields()) (*f)[k] = ResolveExpressions(v, wf);
    return out;
  }
  if (t.has_list_value()) {
    google::protobuf::Value out;
    for (const auto& v : t.list_value().values()) {
      *out.mutable_list_value()->add_values() = ResolveExpressions(v, wf);
    }
    return out;
  }
  return t;
}

int64_t RetryDelaySeconds(const conductor::proto::TaskDef& def, int retry_count) {
  (void)retry_count;
  return def.retry_delay_seconds();
}

absl::StatusOr<Decision> Decide(Workflow& wf, const TaskDefLookup& task_defs,
                                const IdGenerator& new_id, int64_t now_ms) {
  Decision d;
  if (wf.status() != Workflow::RUNNING) return d;
  const auto& defs = wf.workflow_definition().tasks();
  auto schedule = [&](int index, int retry_count, const std::string& retried_from,
                      int64_t delay_s) {
    const auto& wt = defs[index];
    Task* t = wf.add_tasks();
    t->set_task_id(new_id());
    t->set_task_type(wt.type().empty() ? "SIMPLE" : wt.type());
    if (t->task_type() == "SIMPLE") t->set_task_type(wt.name());
    t->set_task_def_name(wt.name());
    t->set_reference_task_name(wt.task_reference_name());
    t->set_status(Task::SCHEDULED);
    t->set_seq(wf.tasks_size());
    t->set_retry_count(retry_count);
    t->set_retried_task_id(retried_from);
    t->set_scheduled_time(now_ms);
    t->set_callback_after_seconds(delay_s);
    t->set_workflow_instance_id(wf.workflow_id());
    t->set_workflow_type(wf.workflow_definition().name());
    t->set_correlation_id(wf.correlation_id());
    *t->mutable_workflow_task() = wt;
    auto dom = wf.task_to_domain().find(wt.name());
    if (dom != wf.task_to_domain().end()) t->set_domain(dom->second);
    for (const auto& [k, v] : wt.input_parameters()) {
      (*t->mutable_input_data())[k] = ResolveExpressions(v, wf);
    }
    if (const auto* def = task_defs(wt.name())) {
      t->set_response_timeout_seconds(def->response_timeout_seconds());
    }
    d.changed_task_ids.push_back(t->task_id());
    d.enqueue_task_ids.push_back(t->task_id());
  };
  for (int i = 0; i < defs.size(); ++i) {
    Task* t = Latest(wf, defs[i].task_reference_name());
    if (t == nullptr) {
      schedule(i, 0, "", 0);
      return d;
    }
    const conductor::proto::TaskDef* def = task_defs(defs[i].name());
    if (t->status() == Task::IN_PROGRESS && def && def->response_timeout_seconds() > 0) {
      int64_t due =
          std::max(t->update_time(), t->start_time()) + def->response_timeout_seconds() * 1000;
      if (now_ms >= due) {
        t->set_status(Task::TIMED_OUT);
        t->set_end_time(now_ms);
        t->set_reason_for_incompletion("responseTimeout exceeded");
        d.changed_task_ids.push_back(t->task_id());
      } else {
        d.next_wake_ms = due;
        return d;
      }
    }
    if (t->status() == Task::COMPLETED) continue;
    if (t->status() == Task::SCHEDULED || t->status() == Task::IN_PROGRESS) return d;
    if (t->retried()) continue;
    int retries = defs[i].retry_count() >= 0 && defs[i].retry_count() != 0
                      ? defs[i].retry_count()
                      : (def ? def->retry_count() : 0);
    if (t->status() != Task::FAILED_WITH_TERMINAL_ERROR && t->retry_count() < retries) {
      t->set_retried(true);
      d.changed_task_ids.push_back(t->task_id());
      std::string old_id = t->task_id();
      schedule(i, t->retry_count() + 1, old_id,
               def ? RetryDelaySeconds(*def, t->retry_count()) : 0);
      return d;
    }
    wf.set_status(Workflow::FAILED);
    wf.set_end_time(now_ms);
    wf.set_reason_for_incompletion(t->reason_for_incompletion());
    wf.add_failed_reference_task_names(t->reference_task_name());
    d.workflow_changed = true;
    return d;
  }
  wf.set_status(Workflow::COMPLETED);
  wf.set_end_time(now_ms);
  for (const auto& [k, v] : wf.workflow_definition().output_parameters()) {
    (*wf.mutable_output())[k] = ResolveExpressions(v, wf);
  }
  d.workflow_changed = true;
  return d;
}

}  // namespace cmig::orchestrator
