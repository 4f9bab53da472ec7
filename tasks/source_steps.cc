// The outgoing steps that read the source: fetch the selected definitions (every one of a kind
// for "*") and discover what they reference (workflows/outgoing_migration_request.json).
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "migration/discovery.h"
#include "migration/package.h"
#include "tasks/step_io.h"
#include "tasks/steps.h"
#include "workflows/lifecycle.h"

namespace cmig::tasks {

using migration::DefinitionSource;
using migration::DescribeItem;
using migration::Discover;
using migration::Discovery;
using migration::DiscoveryOptions;
using migration::InMemoryDefinitionSource;

namespace {

using google::protobuf::Value;

class FetchDefinitions final : public Step {
 public:
  using Step::Step;
  const char* RemoteEnvironmentInput() const override { return "environment"; }
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    v1::Selection selection;
    RETURN_IF_ERROR(FromValue(ctx.Input("selection"), "selection", &selection));
    if (selection.workflows().empty() && selection.task_defs().empty() &&
        selection.event_handlers().empty() && selection.schedules().empty()) {
      return absl::InvalidArgumentError(
          "input 'selection' selects nothing: give workflows ([{name, version}]), taskDefs, "
          "eventHandlers or schedules");
    }
    bool wants_all_workflows = false, wants_all_tasks = false, wants_all_handlers = false,
         wants_all_schedules = false;
    for (const auto& w : selection.workflows()) wants_all_workflows |= w.name() == "*";
    for (const auto& t : selection.task_defs()) wants_all_tasks |= t == "*";
    for (const auto& h : selection.event_handlers()) wants_all_handlers |= h == "*";
    for (const auto& s : selection.schedules()) wants_all_schedules |= s == "*";

    ASSIGN_OR_RETURN(std::string source_env, OptionalStringInput(ctx, "environment"));
    ASSIGN_OR_RETURN(std::shared_ptr<client::ConductorEnvironment> source,
                     state().Source(source_env));
    client::MetadataClient& metadata = source->metadata();
    v1::FetchedDefinitions fetched;
    // A few names are read one by one (discovery then reads what they reference the same way);
    // "*" or many names list the source once, which is fewer round trips.
    // A server that keeps keys beyond the proto (REST) is always listed: the listing carries them.
    const bool list = wants_all_workflows || wants_all_tasks || metadata.KeepsExtraKeys() ||
                      selection.workflows_size() + selection.task_defs_size() >=
                          migration::kListSourceWhenSelectingAtLeast;
    std::vector<Value> workflow_extras, task_extras;
    absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> workflows =
        list ? metadata.ListWorkflowDefsWithExtras(&workflow_extras)
             : absl::UnimplementedError("not listed: the selection names a few definitions");
    if (workflows.ok()) {
      ASSIGN_OR_RETURN(std::vector<conductor::proto::TaskDef> task_defs,
                       metadata.ListTaskDefsWithExtras(&task_extras));
      fetched.set_complete(true);
      auto& extras = *fetched.mutable_extras();
      for (size_t i = 0; i < workflows->size(); ++i) {
        auto& w = (*workflows)[i];
        if (i < workflow_extras.size() && workflow_extras[i].has_struct_value()) {
          extras[ExtrasKey(w)] = std::move(workflow_extras[i]);
        }
        *fetched.add_workflows() = std::move(w);
      }
      for (size_t i = 0; i < task_defs.size(); ++i) {
        auto& t = task_defs[i];
        if (i < task_extras.size() && task_extras[i].has_struct_value()) {
          extras[ExtrasKey(t)] = std::move(task_extras[i]);
        }
        *fetched.add_task_defs() = std::move(t);
      }
    } else if (absl::IsUnimplemented(workflows.status())) {
      if (wants_all_workflows || wants_all_tasks) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the selection '*' needs definition listing, which this server does not offer: ",
            workflows.status().message()));
      }
      ctx.AddLog(list ? "the server cannot list definitions; reading the selection one by one"
                      : "reading the selection one by one");
    } else {
      return workflows.status();
    }

    // Event handlers are listed whole (Conductor reads them no other way): discovery matches
    // them against the events the workflows publish.
    absl::StatusOr<std::vector<conductor::proto::EventHandler>> handlers =
        ListEventHandlersOf(source->event_handlers());
    if (handlers.ok()) {
      fetched.set_event_handlers_listed(true);
      for (auto& h : *handlers) *fetched.add_event_handlers() = std::move(h);
    } else if (!absl::IsUnimplemented(handlers.status())) {
      return handlers.status();
    } else if (!selection.event_handlers().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the selection names event handlers, but the source has none to offer: ",
                       handlers.status().message()));
    } else {
      ctx.AddLog(absl::StrCat("no event handlers are read: ", handlers.status().message()));
    }
    // Schedules likewise: discovery finds those that start a migrated workflow.
    absl::StatusOr<std::vector<v1::WorkflowSchedule>> schedules =
        ListSchedulesOf(source->schedules());
    if (schedules.ok()) {
      fetched.set_schedules_listed(true);
      for (auto& s : *schedules) *fetched.add_schedules() = std::move(s);
    } else if (!absl::IsUnimplemented(schedules.status()) &&
               !absl::IsPermissionDenied(schedules.status())) {
      return schedules.status();
    } else if (!selection.schedules().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the selection names schedules, but the source's schedules cannot be read: ",
                       schedules.status().message()));
    } else {
      // A server without a scheduler, or a key without the right to read schedules (Orkes):
      // the workflows still migrate, without their schedules.
      ctx.AddLog(absl::StrCat("no schedules are read: ", schedules.status().message()));
    }

    // Expand "*" and record the resolved selection.
    v1::Selection resolved;
    std::set<std::string> names;
    for (const auto& w : selection.workflows()) {
      if (w.name() != "*") {
        *resolved.add_workflows() = w;
        continue;
      }
      for (const auto& d : fetched.workflows()) {
        if (workflows::IsOwnDefinition(d.name())) continue;
        if (names.insert(d.name()).second) resolved.add_workflows()->set_name(d.name());
      }
    }
    for (const auto& t : selection.task_defs()) {
      if (t != "*") {
        resolved.add_task_defs(t);
        continue;
      }
      for (const auto& d : fetched.task_defs()) {
        if (!workflows::IsOwnDefinition(d.name())) resolved.add_task_defs(d.name());
      }
    }
    for (const auto& h : selection.event_handlers()) {
      if (h != "*") {
        resolved.add_event_handlers(h);
        continue;
      }
      for (const auto& d : fetched.event_handlers()) resolved.add_event_handlers(d.name());
    }
    for (const auto& s : selection.schedules()) {
      if (s != "*") {
        resolved.add_schedules(s);
        continue;
      }
      for (const auto& d : fetched.schedules()) {
        // A recurring migration's own schedule starts this workflow: it is not user metadata.
        if (!workflows::IsOwnDefinition(d.start_workflow_request().name())) {
          resolved.add_schedules(d.name());
        }
      }
    }
    if ((wants_all_handlers || wants_all_schedules) && resolved.workflows().empty() &&
        resolved.task_defs().empty() && resolved.event_handlers().empty() &&
        resolved.schedules().empty()) {
      return absl::FailedPreconditionError(
          "the selection asks for every event handler or schedule, and the source holds none "
          "(and nothing else was selected)");
    }
    if (!fetched.complete()) {
      // Read what was selected now, so a missing selection fails here, named.
      std::vector<std::string> missing;
      for (const auto& w : resolved.workflows()) {
        absl::StatusOr<conductor::proto::WorkflowDef> d =
            metadata.GetWorkflowDef(w.name(), w.version());
        if (absl::IsNotFound(d.status())) {
          missing.push_back(DescribeItem(v1::ITEM_KIND_WORKFLOW_DEF, w.name(), w.version()));
          continue;
        }
        RETURN_IF_ERROR(d.status());
        *fetched.add_workflows() = *std::move(d);
      }
      for (const auto& t : resolved.task_defs()) {
        absl::StatusOr<conductor::proto::TaskDef> d = metadata.GetTaskDef(t);
        if (absl::IsNotFound(d.status())) {
          missing.push_back(DescribeItem(v1::ITEM_KIND_TASK_DEF, t, 0));
          continue;
        }
        RETURN_IF_ERROR(d.status());
        *fetched.add_task_defs() = *std::move(d);
      }
      if (!missing.empty()) {
        return absl::NotFoundError(
            absl::StrCat("selected definitions not in the source: ", absl::StrJoin(missing, ", ")));
      }
    }
    *fetched.mutable_selection() = resolved;
    ASSIGN_OR_RETURN(std::string ref, state().StoreMessage(fetched, "fetched definitions"));
    ctx.AddLog(absl::StrCat("fetched ", fetched.workflows_size(), " workflow and ",
                            fetched.task_defs_size(), " task definitions and ",
                            fetched.event_handlers_size(), " event handlers and ",
                            fetched.schedules_size(), " schedules",
                            fetched.complete() ? " (every definition of the source)" : "",
                            source->protocol() == client::Protocol::kRest
                                ? absl::StrCat(" from '", source_env, "' over REST")
                                : ""));
    TaskOutcome out;
    SetString(out.output, "definitionsRef", ref);
    SetNumber(out.output, "workflowDefs", fetched.workflows_size());
    SetNumber(out.output, "taskDefs", fetched.task_defs_size());
    SetNumber(out.output, "eventHandlers", fetched.event_handlers_size());
    SetNumber(out.output, "schedules", fetched.schedules_size());
    SetBool(out.output, "complete", fetched.complete());
    RETURN_IF_ERROR(SetMessage(out.output, "selection", resolved));
    return out;
  }
};

class DiscoverReferences final : public Step {
 public:
  using Step::Step;
  const char* RemoteEnvironmentInput() const override { return "environment"; }
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string ref, StringInput(ctx, "definitionsRef"));
    ASSIGN_OR_RETURN(v1::MigrationOptions options, OptionsInput(ctx));
    ASSIGN_OR_RETURN(auto fetched,
                     state().LoadMessage<v1::FetchedDefinitions>(ref, "fetched definitions"));
    ASSIGN_OR_RETURN(std::string source_env, OptionalStringInput(ctx, "environment"));
    std::unique_ptr<DefinitionSource> source;
    std::shared_ptr<client::ConductorEnvironment> environment;
    if (fetched.complete()) {
      auto memory = std::make_unique<InMemoryDefinitionSource>();
      for (auto& w : *fetched.mutable_workflows()) memory->AddWorkflowDef(std::move(w));
      for (auto& t : *fetched.mutable_task_defs()) memory->AddTaskDef(std::move(t));
      for (auto& h : *fetched.mutable_event_handlers()) memory->AddEventHandler(std::move(h));
      if (!fetched.event_handlers_listed()) {
        memory->MarkEventHandlersUnavailable(
            absl::UnimplementedError("the source offers no event handler API"));
      }
      for (auto& s : *fetched.mutable_schedules()) memory->AddSchedule(std::move(s));
      if (!fetched.schedules_listed()) {
        memory->MarkSchedulesUnavailable(absl::UnimplementedError("the source has no scheduler"));
      }
      fetched.clear_workflows();
      fetched.clear_task_defs();
      fetched.clear_event_handlers();
      fetched.clear_schedules();
      source = std::move(memory);
    } else {
      ASSIGN_OR_RETURN(environment, state().Source(source_env));
      source = std::make_unique<ClientSource>(
          environment->metadata(), environment->event_handlers(), environment->schedules());
    }
    DiscoveryOptions discovery_options;
    discovery_options.follow_references = !options.skip_discovery();
    discovery_options.require_task_definitions = options.require_task_definitions();
    ASSIGN_OR_RETURN(Discovery d, Discover(fetched.selection(), *source, discovery_options));

    v1::StoredDiscovery stored;
    *stored.mutable_selection() = fetched.selection();
    source.reset();
    int with_extras = 0;
    for (auto& w : d.workflows) {
      auto* e = stored.add_workflows();
      if (auto it = fetched.extras().find(ExtrasKey(w.def)); it != fetched.extras().end()) {
        *e->mutable_extra() = it->second;
        ++with_extras;
      }
      *e->mutable_def() = std::move(w.def);
      e->set_requested(w.requested);
      e->set_discovered_from(w.discovered_from);
    }
    for (auto& t : d.task_defs) {
      auto* e = stored.add_task_defs();
      if (auto it = fetched.extras().find(ExtrasKey(t.def)); it != fetched.extras().end()) {
        *e->mutable_extra() = it->second;
        ++with_extras;
      }
      *e->mutable_def() = std::move(t.def);
      e->set_requested(t.requested);
      e->set_discovered_from(t.discovered_from);
    }
    for (auto& h : d.event_handlers) {
      auto* e = stored.add_event_handlers();
      *e->mutable_def() = std::move(h.def);
      e->set_requested(h.requested);
      e->set_discovered_from(h.discovered_from);
    }
    for (auto& s : d.schedules) {
      auto* e = stored.add_schedules();
      *e->mutable_def() = std::move(s.def);
      e->set_requested(s.requested);
      e->set_discovered_from(s.discovered_from);
    }
    if (with_extras > 0) {
      ctx.AddLog(absl::StrCat(with_extras,
                              " definitions carry keys beyond what gRPC can (kept for a REST "
                              "target)"));
    }
    *stored.mutable_report() = d.report;
    ASSIGN_OR_RETURN(std::string out_ref, state().StoreMessage(stored, "discovery"));
    ctx.AddLog(absl::StrCat("discovered ", d.workflows.size(), " workflow and ", d.task_defs.size(),
                            " task definitions, ", d.event_handlers.size(), " event handlers and ",
                            d.schedules.size(), " schedules; ", d.report.dependencies_size(),
                            " dependencies, ", d.report.unresolved_size(),
                            " unresolved references"));
    TaskOutcome out;
    SetString(out.output, "discoveryRef", out_ref);
    SetNumber(out.output, "workflowDefs", static_cast<double>(d.workflows.size()));
    SetNumber(out.output, "taskDefs", static_cast<double>(d.task_defs.size()));
    SetNumber(out.output, "eventHandlers", static_cast<double>(d.event_handlers.size()));
    SetNumber(out.output, "schedules", static_cast<double>(d.schedules.size()));
    SetNumber(out.output, "dependencies", d.report.dependencies_size());
    SetNumber(out.output, "unresolved", d.report.unresolved_size());
    return out;
  }
};

}  // namespace

absl::Status RegisterSourceSteps(HandlerRegistry& registry,
                                 const std::shared_ptr<StepState>& state) {
  RETURN_IF_ERROR(
      registry.Register("cmig_fetch_definitions", std::make_unique<FetchDefinitions>(state)));
  RETURN_IF_ERROR(
      registry.Register("cmig_discover_references", std::make_unique<DiscoverReferences>(state)));
  return absl::OkStatus();
}

}  // namespace cmig::tasks
