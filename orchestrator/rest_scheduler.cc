// Conductor's scheduler paths (/api/scheduler/...), as conductor-oss's scheduler module serves
// them, over the orchestrator's Scheduler (scheduler.h).
#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "definitions/conductor_messages.h"
#include "orchestrator/rest_internal.h"
#include "orchestrator/scheduler.h"

namespace cmig::orchestrator::rest {
namespace {

// Items [start, start + size) of `all`, clamped to it.
template <typename T>
std::vector<T> PageOf(std::vector<T> all, int64_t start, int64_t size) {
  const int64_t total = static_cast<int64_t>(all.size());
  const int64_t from = std::clamp<int64_t>(start, 0, total);
  const int64_t to = std::clamp<int64_t>(from + std::max<int64_t>(size, 0), from, total);
  return std::vector<T>(std::make_move_iterator(all.begin() + from),
                        std::make_move_iterator(all.begin() + to));
}

// The schedule names a search query selects: "scheduleName IN (a,b)" or "scheduleName = a";
// every schedule when there is no such clause. InvalidArgument for other clauses.
absl::StatusOr<std::vector<std::string>> ScheduleNamesOf(absl::string_view query) {
  std::vector<std::string> names;
  for (absl::string_view clause : absl::StrSplit(query, " AND ", absl::SkipWhitespace())) {
    clause = absl::StripAsciiWhitespace(clause);
    if (!absl::StartsWithIgnoreCase(clause, "scheduleName")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unsupported search clause '", clause,
          "': this server searches executions by scheduleName IN (...) or scheduleName = ..."));
    }
    absl::string_view rest = absl::StripAsciiWhitespace(clause.substr(12));
    if (absl::ConsumePrefix(&rest, "=")) {
      names.emplace_back(absl::StripAsciiWhitespace(rest));
    } else if (absl::StartsWithIgnoreCase(rest, "IN")) {
      rest = absl::StripAsciiWhitespace(rest.substr(2));
      if (!absl::ConsumePrefix(&rest, "(") || !absl::ConsumeSuffix(&rest, ")")) {
        return absl::InvalidArgumentError(
            absl::StrCat("search clause '", clause, "' needs its names in parentheses"));
      }
      for (absl::string_view n : absl::StrSplit(rest, ',', absl::SkipWhitespace())) {
        names.emplace_back(absl::StripAsciiWhitespace(n));
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("search clause '", clause, "' is neither '= name' nor 'IN (names)'"));
    }
  }
  return names;
}

void AddRoutes(Scheduler* scheduler, std::vector<Route>& routes) {
  routes.push_back(R("POST", "/api/scheduler/schedules", [scheduler](Engine&, const CallPtr& call) {
    Value body;
    if (!Take(call, call->Body(), &body)) return;
    v1::WorkflowSchedule schedule;
    if (absl::Status s = MessageFromConductorValue(body, &schedule); !s.ok()) {
      call->Error(absl::InvalidArgumentError(absl::StrCat("not a schedule: ", s.message())));
      return;
    }
    v1::WorkflowSchedule saved;
    if (Take(call, scheduler->Save(std::move(schedule)), &saved)) {
      call->Json(MessageToConductorValue(saved));
    }
  }));
  routes.push_back(R("GET", "/api/scheduler/schedules", [scheduler](Engine&, const CallPtr& call) {
    std::vector<v1::WorkflowSchedule> list;
    if (Take(call, scheduler->List(call->Query("workflowName").value_or("")), &list)) {
      call->Json(
          ListOf(list, [](const v1::WorkflowSchedule& s) { return MessageToConductorValue(s); }));
    }
  }));
  // conductor-oss's search: workflowName exact, scheduleName a case-insensitive part of the
  // name, paused exact; by name, a page at a time.
  routes.push_back(
      R("GET", "/api/scheduler/schedules/search", [scheduler](Engine&, const CallPtr& call) {
        int64_t start = 0, size = 100;
        if (!Take(call, call->QueryInt("start", 0), &start) ||
            !Take(call, call->QueryInt("size", 100), &size)) {
          return;
        }
        std::optional<bool> paused;
        if (std::optional<std::string> p = call->Query("paused"); p && !p->empty()) {
          if (*p != "true" && *p != "false") {
            call->Error(absl::InvalidArgumentError(
                absl::StrCat("paused must be true or false, not '", *p, "'")));
            return;
          }
          paused = *p == "true";
        }
        std::vector<v1::WorkflowSchedule> list;
        if (!Take(call, scheduler->List(call->Query("workflowName").value_or("")), &list)) return;
        const std::string part = absl::AsciiStrToLower(call->Query("scheduleName").value_or(""));
        std::vector<v1::WorkflowSchedule> found;
        for (v1::WorkflowSchedule& s : list) {
          if (paused && s.paused() != *paused) continue;
          if (!part.empty() && !absl::StrContains(absl::AsciiStrToLower(s.name()), part)) continue;
          found.push_back(std::move(s));
        }
        const int64_t total = static_cast<int64_t>(found.size());
        std::vector<v1::WorkflowSchedule> page = PageOf(std::move(found), start, size);
        call->Json(SearchResult(total, ListOf(page, [](const v1::WorkflowSchedule& s) {
                                  return MessageToConductorValue(s);
                                })));
      }));
  // Bulk pause and resume: a JSON list of names; each name's outcome in Conductor's
  // BulkResponse, the call itself 200.
  for (const bool pause : {true, false}) {
    routes.push_back(
        R("PUT", pause ? "/api/scheduler/bulk/pause" : "/api/scheduler/bulk/resume",
          [scheduler, pause](Engine&, const CallPtr& call) {
            Value body;
            if (!Take(call, call->Body(), &body)) return;
            if (!body.has_list_value()) {
              call->Error(
                  absl::InvalidArgumentError("the body must be a JSON list of schedule names"));
              return;
            }
            Value out;
            auto& f = *out.mutable_struct_value()->mutable_fields();
            auto* ok = f["bulkSuccessfulResults"].mutable_list_value();
            auto* failed = f["bulkErrorResults"].mutable_struct_value();
            for (const Value& v : body.list_value().values()) {
              const std::string& name = v.string_value();
              const absl::Status s = pause ? scheduler->Pause(name, "") : scheduler->Resume(name);
              if (s.ok()) {
                ok->add_values()->set_string_value(name);
              } else {
                (*failed->mutable_fields())[name].set_string_value(std::string(s.message()));
              }
            }
            call->Json(out);
          }));
  }
  routes.push_back(
      R("GET", "/api/scheduler/schedules/{}", [scheduler](Engine&, const CallPtr& call) {
        v1::WorkflowSchedule s;
        if (Take(call, scheduler->Get(call->param(0)), &s)) call->Json(MessageToConductorValue(s));
      }));
  routes.push_back(
      R("DELETE", "/api/scheduler/schedules/{}", [scheduler](Engine&, const CallPtr& call) {
        call->Finish(scheduler->Delete(call->param(0)));
      }));
  routes.push_back(
      R("PUT", "/api/scheduler/schedules/{}/pause", [scheduler](Engine&, const CallPtr& call) {
        call->Finish(scheduler->Pause(call->param(0), call->Query("reason").value_or("")));
      }));
  routes.push_back(
      R("PUT", "/api/scheduler/schedules/{}/resume", [scheduler](Engine&, const CallPtr& call) {
        call->Finish(scheduler->Resume(call->param(0)));
      }));
  routes.push_back(
      R("GET", "/api/scheduler/nextFewSchedules", [scheduler](Engine&, const CallPtr& call) {
        std::optional<std::string> cron = call->Query("cronExpression");
        if (!cron) {
          call->Error(absl::InvalidArgumentError("nextFewSchedules needs cronExpression"));
          return;
        }
        int64_t start = 0, end = 0, limit = 0;
        if (!Take(call, call->QueryInt("scheduleStartTime", 0), &start) ||
            !Take(call, call->QueryInt("scheduleEndTime", 0), &end) ||
            !Take(call, call->QueryInt("limit", 5), &limit)) {
          return;
        }
        std::vector<int64_t> times;
        if (Take(call,
                 scheduler->NextRunTimes(*cron, call->Query("zoneId").value_or(""), start, end,
                                         static_cast<int>(std::clamp<int64_t>(limit, 0, 5))),
                 &times)) {
          call->Json(ListOf(times, [](int64_t t) {
            Value v;
            v.set_number_value(static_cast<double>(t));
            return v;
          }));
        }
      }));
  routes.push_back(
      R("GET", "/api/scheduler/search/executions", [scheduler](Engine&, const CallPtr& call) {
        std::vector<std::string> names;
        int64_t start = 0, size = 100;
        if (!Take(call, ScheduleNamesOf(call->Query("query").value_or("")), &names) ||
            !Take(call, call->QueryInt("start", 0), &start) ||
            !Take(call, call->QueryInt("size", 100), &size)) {
          return;
        }
        if (names.empty()) names.emplace_back();  // every schedule
        std::vector<v1::ScheduleExecution> found;
        for (const std::string& name : names) {
          std::vector<v1::ScheduleExecution> runs;
          if (!Take(call, scheduler->Executions(name, 10'000), &runs)) return;
          for (auto& r : runs) found.push_back(std::move(r));
        }
        std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
          return a.scheduled_time() > b.scheduled_time();
        });
        const int64_t total = static_cast<int64_t>(found.size());
        std::vector<v1::ScheduleExecution> page = PageOf(std::move(found), start, size);
        call->Json(SearchResult(total, ListOf(page, [](const v1::ScheduleExecution& r) {
                                  return MessageToConductorValue(r);
                                })));
      }));
}

}  // namespace

void AddSchedulerRoutes(Scheduler* scheduler, std::vector<Route>& routes) {
  if (scheduler != nullptr) AddRoutes(scheduler, routes);
}

}  // namespace cmig::orchestrator::rest
