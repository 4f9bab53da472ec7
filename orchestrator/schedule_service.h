// The scheduler's gRPC service (cmig.v1.Schedules), registered by server.cc behind the same
// token check as every other service.
#ifndef CMIG_ORCHESTRATOR_SCHEDULE_SERVICE_H_
#define CMIG_ORCHESTRATOR_SCHEDULE_SERVICE_H_

#include "cmig/v1/schedules.grpc.pb.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/services.h"

namespace cmig::orchestrator {

// Borrows `scheduler`, which must outlive the service's calls.
NamedService MakeScheduleService(Scheduler& scheduler);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_SCHEDULE_SERVICE_H_
