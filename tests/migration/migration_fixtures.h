// Definitions shared by the migration domain tests: a realistic source environment.
#ifndef CMIG_TESTS_TASKS_MIGRATION_FIXTURES_H_
#define CMIG_TESTS_TASKS_MIGRATION_FIXTURES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "cmig/v1/report.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "migration/definition_source.h"
#include "migration/discovery.h"
#include "migration/package.h"

namespace cmig::testing {

inline conductor::proto::WorkflowDef Wf(const std::string& text) {
  conductor::proto::WorkflowDef def;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &def)) << text;
  return def;
}

inline conductor::proto::TaskDef Td(const std::string& name, int retry_count = 3) {
  conductor::proto::TaskDef def;
  def.set_name(name);
  def.set_retry_count(retry_count);
  def.set_timeout_seconds(600);
  def.set_response_timeout_seconds(60);
  return def;
}

inline conductor::proto::WorkflowDef SimpleWf(const std::string& name, int version,
                                              const std::string& task) {
  return Wf(absl::StrCat("name: '", name, "' version: ", version, " tasks { name: '", task,
                         "' task_reference_name: '", task, "_ref' type: 'SIMPLE' }"));
}

// Three levels of sub-workflows under order_flow (express_flow -> packing_flow -> label_flow),
// an inline sub-workflow, START_WORKFLOW, a failure workflow, secrets, environment variables,
// sinks, task domains, dynamic tasks, an expression-named sub-workflow, missing references, a
// cycle (ping <-> pong) and two versions of order_flow and packing_flow.
inline void AddSourceEnvironment(migration::InMemoryDefinitionSource* s) {
  for (const char* name :
       {"charge_card", "ship_order", "notify", "audit_log", "call_api", "unused_task"}) {
    s->AddTaskDef(Td(name));
  }
  s->AddWorkflowDef(SimpleWf("order_flow", 1, "charge_card"));
  s->AddWorkflowDef(Wf(R"pb(
    name: "order_flow"
    version: 2
    failure_workflow: "order_cleanup"
    workflow_status_listener_sink: "kafka:status"
    output_parameters {
      key: "region"
      value { string_value: "${workflow.env.REGION}" }
    }
    tasks {
      name: "charge_card"
      task_reference_name: "charge"
      type: "SIMPLE"
      input_parameters {
        key: "apiKey"
        value { string_value: "Bearer ${workflow.secrets.stripe_key}" }
      }
      input_parameters {
        key: "db"
        value {
          struct_value {
            fields {
              key: "user"
              value { string_value: "${workflow.secrets.db.user}" }
            }
          }
        }
      }
    }
    tasks {
      name: "route"
      task_reference_name: "route"
      type: "SWITCH"
      evaluator_type: "value-param"
      expression: "kind"
      decision_cases {
        key: "express"
        value {
          tasks {
            name: "express"
            task_reference_name: "fulfil_express"
            type: "SUB_WORKFLOW"
            sub_workflow_param {
              name: "express_flow"
              version: 1
              task_to_domain { key: "ship_order" value: "fast" }
            }
          }
        }
      }
      decision_cases {
        key: "standard"
        value {
          tasks {
            name: "fork"
            task_reference_name: "fork"
            type: "FORK_JOIN"
            fork_tasks { tasks { name: "ship_order" task_reference_name: "ship" type: "SIMPLE" } }
            fork_tasks { tasks { name: "call_api" task_reference_name: "api" type: "HTTP" } }
          }
          tasks {
            name: "join"
            task_reference_name: "join"
            type: "JOIN"
            join_on: "ship"
            join_on: "api"
          }
        }
      }
      default_case {
        name: "loop"
        task_reference_name: "loop"
        type: "DO_WHILE"
        loop_condition: "false"
        loop_over { name: "notify" task_reference_name: "notify_in_loop" type: "SIMPLE" }
      }
    }
    tasks {
      name: "start_audit"
      task_reference_name: "start_audit"
      type: "START_WORKFLOW"
      input_parameters {
        key: "startWorkflow"
        value {
          struct_value {
            fields {
              key: "name"
              value { string_value: "audit_flow" }
            }
            fields {
              key: "version"
              value { number_value: 3 }
            }
            fields {
              key: "taskToDomain"
              value {
                struct_value {
                  fields {
                    key: "audit_log"
                    value { string_value: "audit" }
                  }
                }
              }
            }
          }
        }
      }
    }
    tasks {
      name: "inline"
      task_reference_name: "inline_child"
      type: "SUB_WORKFLOW"
      sub_workflow_param {
        name: "inline_child"
        workflow_definition {
          struct_value {
            fields {
              key: "name"
              value { string_value: "inline_child" }
            }
            fields {
              key: "version"
              value { number_value: 1 }
            }
            fields {
              key: "tasks"
              value {
                list_value {
                  values {
                    struct_value {
                      fields {
                        key: "name"
                        value { string_value: "audit_log" }
                      }
                      fields {
                        key: "taskReferenceName"
                        value { string_value: "log" }
                      }
                      fields {
                        key: "type"
                        value { string_value: "SIMPLE" }
                      }
                      fields {
                        key: "inputParameters"
                        value {
                          struct_value {
                            fields {
                              key: "token"
                              value { string_value: "${workflow.secrets.audit_token}" }
                            }
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    tasks {
      name: "publish"
      task_reference_name: "publish"
      type: "EVENT"
      sink: "conductor:order_events"
    }
    tasks {
      name: "dyn"
      task_reference_name: "dyn"
      type: "DYNAMIC"
      dynamic_task_name_param: "taskToRun"
      input_parameters {
        key: "taskToRun"
        value { string_value: "${workflow.input.t}" }
      }
    }
    tasks {
      name: "dynfork"
      task_reference_name: "dynfork"
      type: "FORK_JOIN_DYNAMIC"
      dynamic_fork_tasks_param: "forks"
    }
    tasks {
      name: "by_expr"
      task_reference_name: "by_expr"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "${workflow.input.child}" }
    }
    tasks { name: "missing_worker" task_reference_name: "missing_worker" type: "SIMPLE" }
    tasks {
      name: "ghost"
      task_reference_name: "ghost"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "ghost_flow" version: 1 }
    }
  )pb"));
  s->AddWorkflowDef(Wf(R"pb(
    name: "express_flow"
    version: 1
    tasks {
      name: "pack"
      task_reference_name: "pack"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "packing_flow" }
    }
  )pb"));
  s->AddWorkflowDef(SimpleWf("packing_flow", 1, "ship_order"));
  s->AddWorkflowDef(Wf(R"pb(
    name: "packing_flow"
    version: 2
    tasks { name: "ship_order" task_reference_name: "ship" type: "SIMPLE" }
    tasks {
      name: "label"
      task_reference_name: "label"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "label_flow" version: 1 }
    }
  )pb"));
  s->AddWorkflowDef(SimpleWf("label_flow", 1, "notify"));
  s->AddWorkflowDef(SimpleWf("audit_flow", 3, "audit_log"));
  s->AddWorkflowDef(SimpleWf("order_cleanup", 1, "notify"));
  s->AddWorkflowDef(Wf(R"pb(
    name: "ping"
    version: 1
    tasks {
      name: "p"
      task_reference_name: "to_pong"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "pong" version: 1 }
    }
  )pb"));
  s->AddWorkflowDef(Wf(R"pb(
    name: "pong"
    version: 1
    tasks { name: "notify" task_reference_name: "n" type: "SIMPLE" }
    tasks {
      name: "p"
      task_reference_name: "to_ping"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "ping" version: 1 }
    }
  )pb"));
}

// Counts calls and can fail every call with a given status.
class CountingSource : public migration::DefinitionSource {
 public:
  explicit CountingSource(migration::DefinitionSource& inner) : inner_(inner) {}
  absl::StatusOr<conductor::proto::WorkflowDef> GetWorkflowDef(
      absl::string_view name, std::optional<int32_t> version) override {
    ++workflow_calls;
    if (!fail_with.ok()) return fail_with;
    return inner_.GetWorkflowDef(name, version);
  }
  absl::StatusOr<conductor::proto::TaskDef> GetTaskDef(absl::string_view name) override {
    ++task_def_calls;
    if (!fail_with.ok()) return fail_with;
    return inner_.GetTaskDef(name);
  }
  absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ListWorkflowVersions(
      absl::string_view name) override {
    ++workflow_calls;
    if (!fail_with.ok()) return fail_with;
    if (!can_list) return migration::DefinitionSource::ListWorkflowVersions(name);
    return inner_.ListWorkflowVersions(name);
  }
  int workflow_calls = 0;
  bool can_list = true;
  int task_def_calls = 0;
  absl::Status fail_with;

 private:
  migration::DefinitionSource& inner_;
};

// A package of `selection` from `source`, built as the build step does (source "dev", a fixed
// creation time).
inline v1::MigrationPackage Package(migration::InMemoryDefinitionSource& source,
                                    const v1::Selection& selection,
                                    v1::ConflictStrategy conflict = v1::CONFLICT_STRATEGY_FAIL,
                                    v1::VersionStrategy version = v1::VERSION_STRATEGY_PRESERVE,
                                    v1::OnBlocked on_blocked = v1::ON_BLOCKED_FAIL,
                                    bool follow_references = true) {
  auto d = migration::Discover(selection, source, {.follow_references = follow_references});
  EXPECT_TRUE(d.ok()) << d.status();
  migration::PackageHeader h;
  h.source_environment = "dev";
  h.created_at = absl::FromUnixSeconds(1790000000);
  h.options.set_conflict_strategy(conflict);
  h.options.set_version_strategy(version);
  h.options.set_on_blocked(on_blocked);
  h.options.set_skip_discovery(!follow_references);
  h.selection = selection;
  auto built = migration::BuildPackage(*d, h);
  EXPECT_TRUE(built.ok()) << built.status();
  return built->package;
}

// The plan's item of that kind and name; nullptr when there is none.
inline const v1::PlannedItem* Item(const v1::MigrationPlan& plan, v1::ItemKind kind,
                                   const std::string& name) {
  for (const auto& i : plan.items()) {
    if (i.kind() == kind && i.name() == name) return &i;
  }
  return nullptr;
}

}  // namespace cmig::testing

#endif  // CMIG_TESTS_TASKS_MIGRATION_FIXTURES_H_
