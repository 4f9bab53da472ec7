// cmig.v1.Schedules: the scheduler (scheduler.h) over gRPC, as /api/scheduler serves it over
// REST.
#include "orchestrator/schedule_service.h"

#include <utility>

#include "base/grpc_status.h"

namespace cmig::orchestrator {
namespace {

using ::grpc::CallbackServerContext;
using ::grpc::ServerUnaryReactor;

ServerUnaryReactor* Done(CallbackServerContext* ctx, const absl::Status& s) {
  ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(ToGrpc(s));
  return r;
}

class SchedulesImpl final : public v1::Schedules::CallbackService {
 public:
  explicit SchedulesImpl(Scheduler& scheduler) : scheduler_(scheduler) {}

  ServerUnaryReactor* SaveSchedule(CallbackServerContext* ctx, const v1::SaveScheduleRequest* req,
                                   v1::SaveScheduleResponse* resp) override {
    absl::StatusOr<v1::WorkflowSchedule> saved = scheduler_.Save(req->schedule());
    if (!saved.ok()) return Done(ctx, saved.status());
    *resp->mutable_schedule() = *std::move(saved);
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* GetSchedule(CallbackServerContext* ctx, const v1::GetScheduleRequest* req,
                                  v1::GetScheduleResponse* resp) override {
    absl::StatusOr<v1::WorkflowSchedule> got = scheduler_.Get(req->name());
    if (!got.ok()) return Done(ctx, got.status());
    *resp->mutable_schedule() = *std::move(got);
    return Done(ctx, absl::OkStatus());
  }
  ServerUnaryReactor* ListSchedules(CallbackServerContext* ctx, const v1::ListSchedulesRequest* req,
                                    v1::ListSchedulesResponse* resp) override {
    absl::StatusOr<std::vector<v1::WorkflowSchedule>> list = scheduler_.List(req->workflow_name());
    if (list.ok()) {
      for (auto& s : *list) *resp->add_schedules() = std::move(s);
    }
    return Done(ctx, list.status());
  }
  ServerUnaryReactor* DeleteSchedule(CallbackServerContext* ctx,
                                     const v1::DeleteScheduleRequest* req,
                                     v1::DeleteScheduleResponse*) override {
    return Done(ctx, scheduler_.Delete(req->name()));
  }
  ServerUnaryReactor* PauseSchedule(CallbackServerContext* ctx, const v1::PauseScheduleRequest* req,
                                    v1::PauseScheduleResponse*) override {
    return Done(ctx, scheduler_.Pause(req->name(), req->reason()));
  }
  ServerUnaryReactor* ResumeSchedule(CallbackServerContext* ctx,
                                     const v1::ResumeScheduleRequest* req,
                                     v1::ResumeScheduleResponse*) override {
    return Done(ctx, scheduler_.Resume(req->name()));
  }
  ServerUnaryReactor* NextRunTimes(CallbackServerContext* ctx, const v1::NextRunTimesRequest* req,
                                   v1::NextRunTimesResponse* resp) override {
    absl::StatusOr<std::vector<int64_t>> times =
        scheduler_.NextRunTimes(req->cron_expression(), req->zone_id(), req->schedule_start_time(),
                                req->schedule_end_time(), req->limit() <= 0 ? 5 : req->limit());
    if (times.ok()) {
      for (int64_t t : *times) resp->add_times(t);
    }
    return Done(ctx, times.status());
  }
  ServerUnaryReactor* ListScheduleExecutions(CallbackServerContext* ctx,
                                             const v1::ListScheduleExecutionsRequest* req,
                                             v1::ListScheduleExecutionsResponse* resp) override {
    absl::StatusOr<std::vector<v1::ScheduleExecution>> runs =
        scheduler_.Executions(req->schedule_name(), req->limit());
    if (runs.ok()) {
      for (auto& r : *runs) *resp->add_executions() = std::move(r);
    }
    return Done(ctx, runs.status());
  }

 private:
  Scheduler& scheduler_;
};

}  // namespace

NamedService MakeScheduleService(Scheduler& scheduler) {
  return {v1::Schedules::service_full_name(), std::make_unique<SchedulesImpl>(scheduler)};
}

}  // namespace cmig::orchestrator
