// MetadataService and DefinitionCatalog over real gRPC: create vs update
// semantics, versions and error codes as Conductor has them.
#include "orchestrator_testing.h"

namespace cmig::orchestrator::test {
namespace {

using ::cmig::testing::IsOk;
using ::cmig::testing::StatusIs;
using ::testing::HasSubstr;

WorkflowDef Def(const std::string& name, int version) {
  WorkflowDef def;
  def.set_name(name);
  def.set_version(version);
  *def.add_tasks() = SimpleTask("task_a", "a");
  return def;
}

class MetadataTest : public OrchestratorTest {};

TEST_F(MetadataTest, CreateThenGetByVersionAndLatest) {
  ASSERT_OK(client().CreateWorkflowDef(Def("flow", 1)));
  WorkflowDef v2 = Def("flow", 2);
  v2.set_description("second");
  ASSERT_OK(client().CreateWorkflowDef(v2));

  md::GetWorkflowRequest req;
  req.set_name("flow");
  md::GetWorkflowResponse resp;
  ASSERT_TRUE(client().metadata->GetWorkflow(client().Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.workflow().version(), 2);  // version 0 = latest
  EXPECT_EQ(resp.workflow().description(), "second");

  req.set_version(1);
  ASSERT_TRUE(client().metadata->GetWorkflow(client().Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.workflow().version(), 1);
}

TEST_F(MetadataTest, CreatingAnExistingVersionFails) {
  ASSERT_OK(client().CreateWorkflowDef(Def("flow", 1)));
  EXPECT_THAT(client().CreateWorkflowDef(Def("flow", 1)),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("flow.1")));
}

TEST_F(MetadataTest, UpdateWorkflowsCreatesAndReplaces) {
  ASSERT_OK(client().CreateWorkflowDef(Def("flow", 1)));
  md::UpdateWorkflowsRequest req;
  WorkflowDef replaced = Def("flow", 1);
  replaced.set_description("replaced");
  *req.add_defs() = replaced;
  *req.add_defs() = Def("other", 3);
  md::UpdateWorkflowsResponse resp;
  ASSERT_TRUE(client().metadata->UpdateWorkflows(client().Ctx().get(), req, &resp).ok());

  md::GetWorkflowRequest get;
  get.set_name("flow");
  get.set_version(1);
  md::GetWorkflowResponse got;
  ASSERT_TRUE(client().metadata->GetWorkflow(client().Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.workflow().description(), "replaced");
  get.set_name("other");
  get.set_version(3);
  EXPECT_TRUE(client().metadata->GetWorkflow(client().Ctx().get(), get, &got).ok());
}

TEST_F(MetadataTest, UnknownNamesAreNotFound) {
  md::GetWorkflowRequest wreq;
  wreq.set_name("missing");
  md::GetWorkflowResponse wresp;
  EXPECT_EQ(client().metadata->GetWorkflow(client().Ctx().get(), wreq, &wresp).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
  ASSERT_OK(client().CreateWorkflowDef(Def("flow", 1)));
  wreq.set_name("flow");
  wreq.set_version(7);
  EXPECT_EQ(client().metadata->GetWorkflow(client().Ctx().get(), wreq, &wresp).error_code(),
            ::grpc::StatusCode::NOT_FOUND);

  md::GetTaskRequest treq;
  treq.set_task_type("missing");
  md::GetTaskResponse tresp;
  EXPECT_EQ(client().metadata->GetTask(client().Ctx().get(), treq, &tresp).error_code(),
            ::grpc::StatusCode::NOT_FOUND);

  md::UpdateTaskRequest ureq;
  ureq.mutable_task()->set_name("missing");
  md::UpdateTaskResponse uresp;
  EXPECT_EQ(client().metadata->UpdateTask(client().Ctx().get(), ureq, &uresp).error_code(),
            ::grpc::StatusCode::NOT_FOUND);

  md::DeleteTaskRequest dreq;
  dreq.set_task_type("missing");
  md::DeleteTaskResponse dresp;
  EXPECT_EQ(client().metadata->DeleteTask(client().Ctx().get(), dreq, &dresp).error_code(),
            ::grpc::StatusCode::NOT_FOUND);

  conductor::proto::StartWorkflowRequest sreq;
  sreq.set_name("missing");
  ws::StartWorkflowResponse sresp;
  EXPECT_EQ(client().workflows->StartWorkflow(client().Ctx().get(), sreq, &sresp).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
}

TEST_F(MetadataTest, InvalidWorkflowDefIsRejected) {
  WorkflowDef def;
  def.set_name("empty");
  EXPECT_THAT(client().CreateWorkflowDef(def),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot be empty")));
  md::ValidateWorkflowRequest vreq;
  *vreq.mutable_workflow() = def;
  md::ValidateWorkflowResponse vresp;
  EXPECT_EQ(client().metadata->ValidateWorkflow(client().Ctx().get(), vreq, &vresp).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);
  *vreq.mutable_workflow() = Def("ok", 1);
  EXPECT_TRUE(client().metadata->ValidateWorkflow(client().Ctx().get(), vreq, &vresp).ok());
}

TEST_F(MetadataTest, TaskDefsCreateUpdateDelete) {
  TaskDef def;
  def.set_name("task_a");
  def.set_retry_count(2);
  ASSERT_OK(client().CreateTaskDef(def));
  def.set_retry_count(5);
  ASSERT_OK(client().CreateTaskDef(def));  // CreateTasks replaces, as in Conductor

  md::GetTaskRequest get;
  get.set_task_type("task_a");
  md::GetTaskResponse got;
  ASSERT_TRUE(client().metadata->GetTask(client().Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.task().retry_count(), 5);

  md::UpdateTaskRequest upd;
  *upd.mutable_task() = def;
  upd.mutable_task()->set_description("updated");
  md::UpdateTaskResponse upd_resp;
  ASSERT_TRUE(client().metadata->UpdateTask(client().Ctx().get(), upd, &upd_resp).ok());
  ASSERT_TRUE(client().metadata->GetTask(client().Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.task().description(), "updated");

  md::DeleteTaskRequest del;
  del.set_task_type("task_a");
  md::DeleteTaskResponse del_resp;
  ASSERT_TRUE(client().metadata->DeleteTask(client().Ctx().get(), del, &del_resp).ok());
  EXPECT_EQ(client().metadata->GetTask(client().Ctx().get(), get, &got).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
}

TEST_F(MetadataTest, CatalogListsEverythingAndSurvivesRestart) {
  ASSERT_OK(client().CreateWorkflowDef(Def("b_flow", 1)));
  ASSERT_OK(client().CreateWorkflowDef(Def("b_flow", 2)));
  ASSERT_OK(client().CreateWorkflowDef(Def("a_flow", 1)));
  TaskDef t1, t2;
  t1.set_name("zeta");
  t2.set_name("alpha");
  ASSERT_OK(client().CreateTaskDef(t1));
  ASSERT_OK(client().CreateTaskDef(t2));
  Restart();

  cmig::v1::ListWorkflowDefsRequest req;
  cmig::v1::ListWorkflowDefsResponse resp;
  ASSERT_TRUE(client().catalog->ListWorkflowDefs(client().Ctx().get(), req, &resp).ok());
  ASSERT_EQ(resp.workflows_size(), 2);
  EXPECT_EQ(resp.workflows(0).name(), "a_flow");
  EXPECT_EQ(resp.workflows(1).name(), "b_flow");
  EXPECT_EQ(resp.workflows(1).version(), 2);

  req.set_all_versions(true);
  req.set_name("b_flow");
  ASSERT_TRUE(client().catalog->ListWorkflowDefs(client().Ctx().get(), req, &resp).ok());
  ASSERT_EQ(resp.workflows_size(), 2);
  EXPECT_EQ(resp.workflows(0).version(), 1);
  EXPECT_EQ(resp.workflows(1).version(), 2);

  cmig::v1::ListTaskDefsResponse tresp;
  ASSERT_TRUE(
      client()
          .catalog->ListTaskDefs(client().Ctx().get(), cmig::v1::ListTaskDefsRequest(), &tresp)
          .ok());
  ASSERT_EQ(tresp.tasks_size(), 2);
  EXPECT_EQ(tresp.tasks(0).name(), "alpha");
  EXPECT_EQ(tresp.tasks(1).name(), "zeta");
}

}  // namespace
}  // namespace cmig::orchestrator::test
