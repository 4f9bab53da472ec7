// ServerOptions::conductor_api_only: the orchestrator answers like a conductor-oss server with
// gRPC on. Conductor's services and health work; every project extension answers UNIMPLEMENTED,
// which is what the worker and migrationctl see from a plain Conductor server.
#include <grpcpp/generic/generic_stub.h>

#include "absl/synchronization/notification.h"
#include "cmig/v1/extensions.grpc.pb.h"
#include "tests/orchestrator/orchestrator_testing.h"

namespace cmig::orchestrator::test {
namespace {

// The status codes of one call to each extension service (in a fixed order).
std::vector<::grpc::StatusCode> ExtensionCodes(Client& client) {
  auto channel = client.channel_;
  std::vector<::grpc::StatusCode> codes;
  {
    cmig::v1::ListTaskDefsRequest req;
    cmig::v1::ListTaskDefsResponse resp;
    codes.push_back(client.catalog->ListTaskDefs(client.Ctx().get(), req, &resp).error_code());
  }
  {
    auto stub = cmig::v1::Environments::NewStub(channel);
    cmig::v1::ListEnvironmentsRequest req;
    cmig::v1::ListEnvironmentsResponse resp;
    codes.push_back(stub->ListEnvironments(client.Ctx().get(), req, &resp).error_code());
  }
  {
    auto stub = cmig::v1::Secrets::NewStub(channel);
    cmig::v1::PutSecretRequest req;
    req.set_name("prod_token");
    req.set_value("value");
    cmig::v1::PutSecretResponse resp;
    codes.push_back(stub->PutSecret(client.Ctx().get(), req, &resp).error_code());
  }
  {
    auto stub = cmig::v1::BlobStore::NewStub(channel);
    cmig::v1::HasBlobRequest req;
    req.set_digest(std::string(64, 'a'));
    cmig::v1::HasBlobResponse resp;
    codes.push_back(stub->HasBlob(client.Ctx().get(), req, &resp).error_code());
  }
  {
    auto stub = cmig::v1::DefinitionAdmin::NewStub(channel);
    cmig::v1::DeleteWorkflowDefRequest req;
    req.set_name("absent");
    req.set_version(1);
    cmig::v1::DeleteWorkflowDefResponse resp;
    codes.push_back(stub->DeleteWorkflowDef(client.Ctx().get(), req, &resp).error_code());
  }
  return codes;
}

::grpc::Status HealthCheck(Client& client) {
  ::grpc::GenericStub stub(client.channel_);
  ::grpc::Slice empty{std::string()};
  ::grpc::ByteBuffer request(&empty, 1);
  ::grpc::ByteBuffer response;
  absl::Notification done;
  ::grpc::Status status;
  auto ctx = client.Ctx();
  stub.UnaryCall(ctx.get(), "/grpc.health.v1.Health/Check", ::grpc::StubOptions(), &request,
                 &response, [&](::grpc::Status s) {
                   status = s;
                   done.Notify();
                 });
  done.WaitForNotification();
  return status;
}

class ConductorApiOnlyTest : public OrchestratorTest {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    options_.db_path = dir_ + "/orchestrator.db";
    options_.conductor_api_only = true;
    StartServer();
  }
};

TEST_F(ConductorApiOnlyTest, ExtensionServicesAnswerUnimplemented) {
  EXPECT_THAT(ExtensionCodes(client()), ::testing::Each(::grpc::StatusCode::UNIMPLEMENTED));
}

TEST_F(ConductorApiOnlyTest, ConductorServicesAndHealthStillServe) {
  ASSERT_OK(client().CreateTaskDef([] {
    TaskDef t;
    t.set_name("work");
    return t;
  }()));
  WorkflowDef def;
  def.set_name("flow");
  def.set_version(1);
  *def.add_tasks() = SimpleTask("work", "work_ref");
  ASSERT_OK(client().CreateWorkflowDef(def));
  absl::StatusOr<std::string> id = client().Start("flow");
  ASSERT_OK(id.status());
  std::optional<Task> task = client().PollOne("work");
  ASSERT_TRUE(task.has_value());
  ASSERT_OK(client().Update(*task, conductor::proto::TaskResult::COMPLETED));
  EXPECT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
  EXPECT_TRUE(HealthCheck(client()).ok());
}

TEST_F(OrchestratorTest, ByDefaultTheExtensionServicesServe) {
  // The same calls on a default server reach the services: none is UNIMPLEMENTED.
  EXPECT_THAT(ExtensionCodes(client()),
              ::testing::Each(::testing::Ne(::grpc::StatusCode::UNIMPLEMENTED)));
}

}  // namespace
}  // namespace cmig::orchestrator::test
