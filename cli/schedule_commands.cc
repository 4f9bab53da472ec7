// migrationctl schedule create / list / pause / resume / delete / next / runs: recurring
// migrations, as schedules on --server (cmig.v1.Schedules) that start outgoing_migration_request.
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/output.h"

namespace cmig::cli {
namespace {

absl::Status UnknownSchedule(const absl::Status& s, const std::string& name) {
  if (!absl::IsNotFound(s)) return s;
  return absl::NotFoundError(
      absl::StrCat("no schedule named '", name, "' (see 'migrationctl schedule list')"));
}

std::string TargetOf(const v1::WorkflowSchedule& s) {
  auto it = s.start_workflow_request().input().find("targetEnvironment");
  return it == s.start_workflow_request().input().end() ? "-" : it->second.string_value();
}

}  // namespace

absl::Status ScheduleCreateCommand(Context& ctx) {
  const std::string cron = absl::GetFlag(FLAGS_cron);
  if (cron.empty()) {
    return UsageError("schedule create needs --cron \"SEC MIN HOUR DAY MONTH WEEKDAY\"");
  }
  ASSIGN_OR_RETURN(conductor::proto::StartWorkflowRequest start,
                   MigrationStartFromFlags(ctx, "schedule create"));
  v1::WorkflowSchedule schedule;
  schedule.set_name(ctx.args()[0]);
  schedule.set_cron_expression(cron);
  schedule.set_zone_id(absl::GetFlag(FLAGS_zone));
  schedule.set_run_catchup_schedule_instances(absl::GetFlag(FLAGS_catch_up));
  schedule.set_skip_while_running(true);  // two runs never migrate at once
  schedule.set_description(absl::StrCat("migrationctl migrate to ",
                                        start.input().at("targetEnvironment").string_value()));
  *schedule.mutable_start_workflow_request() = std::move(start);
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  ASSIGN_OR_RETURN(v1::WorkflowSchedule saved, ext->SaveSchedule(schedule));
  JsonObject o;
  o.Set("schedule", MessageValue(saved));
  PrintDone(ctx, o,
            absl::StrCat("schedule ", saved.name(), ": ", saved.cron_expression(), " (",
                         saved.zone_id().empty() ? "UTC" : saved.zone_id(), ") -> ",
                         TargetOf(saved), "; next run ", FormatTimeMs(saved.next_run_time())));
  return absl::OkStatus();
}

absl::Status ScheduleListCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  ASSIGN_OR_RETURN(std::vector<v1::WorkflowSchedule> list, ext->ListSchedules());
  if (ctx.json()) {
    JsonArray a;
    for (const auto& s : list) a.Add(MessageValue(s));
    JsonObject o;
    o.Set("schedules", a.Take());
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  if (list.empty()) {
    ctx.out() << "No schedules; create one with 'migrationctl schedule create NAME --cron ... "
                 "--target ENV --workflow NAME'.\n";
    return absl::OkStatus();
  }
  Table t({"NAME", "CRON", "ZONE", "WORKFLOW", "TARGET", "NEXT RUN", "LAST RUN", "STATE"});
  for (const auto& s : list) {
    std::string last = "-";
    if (absl::StatusOr<std::vector<v1::ScheduleExecution>> runs =
            ext->ListScheduleExecutions(s.name(), 1);
        runs.ok() && !runs->empty()) {
      const v1::ScheduleExecution& r = runs->front();
      last = absl::StrCat(FormatTimeMs(r.scheduled_time()), " ", r.state());
    }
    t.AddRow({s.name(), s.cron_expression(), s.zone_id().empty() ? "UTC" : s.zone_id(),
              s.start_workflow_request().name(), TargetOf(s),
              s.next_run_time() > 0 ? FormatTimeMs(s.next_run_time()) : "-", last,
              s.paused() ? absl::StrCat("paused", s.paused_reason().empty()
                                                      ? ""
                                                      : absl::StrCat(": ", s.paused_reason()))
                         : "active"});
  }
  t.Print(ctx.out());
  return absl::OkStatus();
}

absl::Status SchedulePauseCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  const std::string& name = ctx.args()[0];
  std::string reason = absl::GetFlag(FLAGS_reason);
  if (reason == "terminated with migrationctl") reason = "paused with migrationctl";  // the default
  RETURN_IF_ERROR(UnknownSchedule(ext->PauseSchedule(name, reason), name));
  JsonObject o;
  o.Set("paused", JsonString(name));
  PrintDone(ctx, o, absl::StrCat("paused schedule ", name));
  return absl::OkStatus();
}

absl::Status ScheduleResumeCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  const std::string& name = ctx.args()[0];
  RETURN_IF_ERROR(UnknownSchedule(ext->ResumeSchedule(name), name));
  ASSIGN_OR_RETURN(v1::WorkflowSchedule s, ext->GetSchedule(name));
  JsonObject o;
  o.Set("schedule", MessageValue(s));
  PrintDone(
      ctx, o,
      absl::StrCat("resumed schedule ", name, "; next run ", FormatTimeMs(s.next_run_time())));
  return absl::OkStatus();
}

absl::Status ScheduleDeleteCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  const std::string& name = ctx.args()[0];
  RETURN_IF_ERROR(UnknownSchedule(ext->GetSchedule(name).status(), name));
  RETURN_IF_ERROR(ext->DeleteSchedule(name));
  JsonObject o;
  o.Set("deleted", JsonString(name));
  PrintDone(ctx, o, absl::StrCat("deleted schedule ", name));
  return absl::OkStatus();
}

absl::Status ScheduleNextCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  const std::string& name = ctx.args()[0];
  absl::StatusOr<v1::WorkflowSchedule> s = ext->GetSchedule(name);
  RETURN_IF_ERROR(UnknownSchedule(s.status(), name));
  v1::NextRunTimesRequest req;
  req.set_cron_expression(s->cron_expression());
  req.set_zone_id(s->zone_id());
  req.set_schedule_start_time(s->schedule_start_time());
  req.set_schedule_end_time(s->schedule_end_time());
  req.set_limit(5);
  ASSIGN_OR_RETURN(std::vector<int64_t> times, ext->NextRunTimes(req));
  if (ctx.json()) {
    JsonArray a;
    for (int64_t t : times) a.Add(JsonString(FormatTimeMs(t)));
    JsonObject o;
    o.Set("schedule", JsonString(name)).Set("paused", JsonBool(s->paused())).Set("next", a.Take());
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  if (s->paused()) ctx.out() << "schedule " << name << " is paused; once resumed it runs at:\n";
  for (int64_t t : times) ctx.out() << FormatTimeMs(t) << "\n";
  if (times.empty()) ctx.out() << "no run is left (its end time has passed)\n";
  return absl::OkStatus();
}

absl::Status ScheduleRunsCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  const std::string& name = ctx.args()[0];
  RETURN_IF_ERROR(UnknownSchedule(ext->GetSchedule(name).status(), name));
  ASSIGN_OR_RETURN(std::vector<v1::ScheduleExecution> runs,
                   ext->ListScheduleExecutions(name, absl::GetFlag(FLAGS_limit)));
  if (ctx.json()) {
    JsonArray a;
    for (const auto& r : runs) a.Add(MessageValue(r));
    JsonObject o;
    o.Set("runs", a.Take());
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  if (runs.empty()) {
    ctx.out() << "schedule " << name << " has not run yet\n";
    return absl::OkStatus();
  }
  Table t({"SCHEDULED", "STARTED", "STATE", "MIGRATION", "REASON"});
  for (const auto& r : runs) {
    t.AddRow({FormatTimeMs(r.scheduled_time()), FormatTimeMs(r.execution_time()), r.state(),
              r.workflow_id().empty() ? "-" : r.workflow_id(),
              r.reason().empty() ? "-" : r.reason()});
  }
  t.Print(ctx.out());
  return absl::OkStatus();
}

}  // namespace cmig::cli
