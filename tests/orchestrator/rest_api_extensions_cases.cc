// The REST API's paths beyond Conductor's (Orkes' secrets and tokens, the project's
// environments and packages) and what --conductor_api_only leaves out; part of rest_api_test.
#include <string>

#include "cmig/v1/extensions.grpc.pb.h"
#include "definitions/canonical.h"
#include "tests/orchestrator/rest_api_fixture.h"

namespace cmig::orchestrator::test {
namespace {

TEST_F(RestApiTest, SecretsAreServedAsConductorAndOrkesDo) {
  EXPECT_EQ(rest_->Get("/api/secrets").Json().list_value().values_size(), 0);
  EXPECT_EQ(rest_->Put("/api/secrets/db_password", "\"s3cr3t value\"").status, 200);
  EXPECT_EQ(rest_->Put("/api/secrets/api_key", "raw-text").status, 200);

  HttpResult names = rest_->Get("/api/secrets");
  ASSERT_EQ(names.status, 200);
  EXPECT_EQ(names.body, R"(["api_key","db_password"])");  // names only, never values
  HttpResult value = rest_->Get("/api/secrets/db_password");
  EXPECT_EQ(value.status, 200);
  EXPECT_EQ(value.body, "s3cr3t value");
  EXPECT_EQ(rest_->Get("/api/secrets/api_key/exists").body, "true");
  EXPECT_EQ(rest_->Get("/api/secrets/nothing/exists").body, "false");
  EXPECT_EQ(rest_->Get("/api/secrets/nothing").status, 404);

  // The same store the gRPC Secrets service serves.
  auto secrets = cmig::v1::Secrets::NewStub(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
  cmig::v1::GetSecretRequest get;
  get.set_name("api_key");
  cmig::v1::GetSecretResponse got;
  ASSERT_TRUE(secrets->GetSecret(grpc_->Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.value(), "raw-text");

  EXPECT_EQ(rest_->Delete("/api/secrets/api_key").status, 200);
  EXPECT_EQ(rest_->Delete("/api/secrets/api_key").status, 404);
  EXPECT_EQ(RestClient(server_->http_address()).Get("/api/secrets").status, 401);
}

TEST_F(RestApiTest, AccessKeysAreExchangedForTokensThatBothProtocolsAccept) {
  auto keys = cmig::v1::AccessKeys::NewStub(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
  cmig::v1::CreateAccessKeyResponse key;
  ASSERT_TRUE(keys->CreateAccessKey(grpc_->Ctx().get(), {}, &key).ok());
  ASSERT_FALSE(key.key_id().empty());
  ASSERT_FALSE(key.key_secret().empty());

  RestClient anonymous(server_->http_address());
  HttpResult wrong = anonymous.Post(
      "/api/token", absl::StrCat(R"({"keyId":")", key.key_id(), R"(","keySecret":"guess"})"));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body.find("guess"), std::string::npos);
  EXPECT_EQ(anonymous.Post("/api/token", R"({"keyId":"no-such-key","keySecret":"x"})").status, 401);
  EXPECT_EQ(anonymous.Post("/api/token", R"({"keyId":""})").status, 400);

  const std::string pair =
      absl::StrCat(R"({"keyId":")", key.key_id(), R"(","keySecret":")", key.key_secret(), R"("})");
  HttpResult issued = anonymous.Post("/api/token", pair);
  ASSERT_EQ(issued.status, 200) << issued.body;
  const std::string token = Field(issued.Json(), "token").string_value();
  ASSERT_FALSE(token.empty());
  EXPECT_NE(token, kToken);

  RestClient with_token(server_->http_address(), {absl::StrCat("X-Authorization: ", token)});
  EXPECT_EQ(with_token.Get("/api/metadata/taskdefs").status, 200);
  Client grpc_with_token(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()), token);
  TaskDef def;
  def.set_name("via_issued_token");
  def.set_timeout_seconds(600);
  def.set_response_timeout_seconds(60);
  EXPECT_OK(grpc_with_token.CreateTaskDef(def));

  // The key's secret is not what the database holds.
  std::ifstream db(options_.db_path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find(key.key_secret()), std::string::npos);

  cmig::v1::ListAccessKeysResponse listed;
  ASSERT_TRUE(keys->ListAccessKeys(grpc_->Ctx().get(), {}, &listed).ok());
  ASSERT_EQ(listed.keys_size(), 1);
  EXPECT_EQ(listed.keys(0).key_id(), key.key_id());

  cmig::v1::RevokeAccessKeyRequest revoke;
  revoke.set_key_id(key.key_id());
  cmig::v1::RevokeAccessKeyResponse revoked;
  ASSERT_TRUE(keys->RevokeAccessKey(grpc_->Ctx().get(), revoke, &revoked).ok());
  EXPECT_EQ(anonymous.Post("/api/token", pair).status, 401);
  EXPECT_EQ(keys->RevokeAccessKey(grpc_->Ctx().get(), revoke, &revoked).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
}

TEST_F(RestApiTest, TokensExpireAfterTheirTimeToLive) {
  server_.reset();
  options_.token_ttl = absl::ZeroDuration();  // every token is expired when handed out
  auto server = OrchestratorServer::Start(options_);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  grpc_ = std::make_unique<Client>(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()), kToken);
  auto keys = cmig::v1::AccessKeys::NewStub(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
  cmig::v1::CreateAccessKeyResponse key;
  ASSERT_TRUE(keys->CreateAccessKey(grpc_->Ctx().get(), {}, &key).ok());
  RestClient anonymous(server_->http_address());
  HttpResult issued = anonymous.Post(
      "/api/token",
      absl::StrCat(R"({"keyId":")", key.key_id(), R"(","keySecret":")", key.key_secret(), R"("})"));
  ASSERT_EQ(issued.status, 200);
  RestClient expired(
      server_->http_address(),
      {absl::StrCat("X-Authorization: ", Field(issued.Json(), "token").string_value())});
  // Expired: 401, so a client asks for a new token (as Orkes answers); unknown: 403.
  EXPECT_EQ(expired.Get("/api/metadata/taskdefs").status, 401);
  RestClient unknown(server_->http_address(), {"X-Authorization: never-issued"});
  EXPECT_EQ(unknown.Get("/api/metadata/taskdefs").status, 403);
}

TEST_F(RestApiTest, ConductorApiOnlyServesWhatConductorOssServes) {
  server_.reset();
  options_.conductor_api_only = true;
  auto server = OrchestratorServer::Start(options_);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  RestClient rest(server_->http_address(), {absl::StrCat("X-Authorization: ", kToken)});
  EXPECT_EQ(rest.Get("/api/metadata/workflow").status, 200);
  EXPECT_EQ(rest.Get("/api/secrets").body, "[]");
  EXPECT_EQ(rest.Put("/api/secrets/k", "v").status, 404);
  EXPECT_EQ(rest.Get("/api/secrets/k/exists").status, 404);
  EXPECT_EQ(RestClient(server_->http_address()).Post("/api/token", "{}").status, 401);
  EXPECT_EQ(rest.Get("/api/cmig/environments").status, 404);
  EXPECT_EQ(rest.Post("/api/cmig/migrations", "{}").status, 404);
}

TEST_F(RestApiTest, EnvironmentsOnTheProjectsOwnPaths) {
  EXPECT_EQ(rest_->Get("/api/cmig/environments").body, "[]");
  EXPECT_EQ(
      rest_
          ->Put("/api/cmig/environments/prod",
                R"({"address":"prod.internal:8090","useTls":true,"tokenSecret":"prod_token"})")
          .status,
      200);
  HttpResult got = rest_->Get("/api/cmig/environments/prod");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Field(got.Json(), "address").string_value(), "prod.internal:8090");
  EXPECT_EQ(Field(got.Json(), "id").string_value(), "prod");
  EXPECT_EQ(rest_->Put("/api/cmig/environments/prod", R"({"id":"test","address":"x:1"})").status,
            400);
  EXPECT_EQ(rest_->Put("/api/cmig/environments/prod", R"({"adress":"typo:1"})").status, 400);
  EXPECT_EQ(rest_->Get("/api/cmig/environments").Json().list_value().values_size(), 1);
  EXPECT_EQ(rest_->Delete("/api/cmig/environments/prod").status, 200);
  EXPECT_EQ(rest_->Get("/api/cmig/environments/prod").status, 404);
}

TEST_F(RestApiTest, PackagesAreStoredByDigestAndServedBack) {
  const std::string package = R"({"formatVersion":1,"items":[]})";
  const std::string digest = Sha256Hex(package);
  EXPECT_EQ(rest_->Get("/api/cmig/packages/" + digest).status, 404);
  EXPECT_EQ(rest_->Put("/api/cmig/packages/" + digest, package + " ").status, 400);
  EXPECT_EQ(rest_->Put("/api/cmig/packages/not-a-digest", package).status, 400);
  ASSERT_EQ(rest_->Put("/api/cmig/packages/" + digest, package).status, 200);
  HttpResult back = rest_->Get("/api/cmig/packages/" + digest);
  ASSERT_EQ(back.status, 200);
  EXPECT_EQ(back.body, package);

  // The gRPC BlobStore sees the same package.
  auto blobs = cmig::v1::BlobStore::NewStub(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
  cmig::v1::HasBlobRequest has;
  has.set_digest(digest);
  cmig::v1::HasBlobResponse answer;
  ASSERT_TRUE(blobs->HasBlob(grpc_->Ctx().get(), has, &answer).ok());
  EXPECT_TRUE(answer.exists());

  // Deleted over REST: gone for gRPC too; a second delete is 404. Deleted over gRPC likewise.
  EXPECT_EQ(rest_->Delete("/api/cmig/packages/" + digest).status, 200);
  ASSERT_TRUE(blobs->HasBlob(grpc_->Ctx().get(), has, &answer).ok());
  EXPECT_FALSE(answer.exists());
  EXPECT_EQ(rest_->Delete("/api/cmig/packages/" + digest).status, 404);
  ASSERT_EQ(rest_->Put("/api/cmig/packages/" + digest, package).status, 200);
  cmig::v1::DeleteBlobRequest del;
  del.set_digest(digest);
  cmig::v1::DeleteBlobResponse deleted;
  EXPECT_TRUE(blobs->DeleteBlob(grpc_->Ctx().get(), del, &deleted).ok());
  EXPECT_EQ(rest_->Get("/api/cmig/packages/" + digest).status, 404);
  EXPECT_EQ(blobs->DeleteBlob(grpc_->Ctx().get(), del, &deleted).error_code(),
            ::grpc::StatusCode::NOT_FOUND);

  // Past the store's limit: 413, nothing stored.
  server_.reset();
  options_.max_package_bytes = 16;
  auto server = OrchestratorServer::Start(options_);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  RestClient rest(server_->http_address(), {absl::StrCat("X-Authorization: ", kToken)});
  const std::string big(17, 'x');
  EXPECT_EQ(rest.Put("/api/cmig/packages/" + Sha256Hex(big), big).status, 413);
  EXPECT_EQ(rest.Get("/api/cmig/packages/" + Sha256Hex(big)).status, 404);
}

// The console's preview of a migration: what a selection brings along and why, and what stays
// unresolved, read from this server's definitions before anything starts.
TEST_F(RestApiTest, ADiscoveryPreviewSaysWhatASelectionBringsAndWhy) {
  DefineOneTaskWorkflow("charge");
  HttpResult r = rest_->Post("/api/metadata/workflow",
                             R"({"name":"order_flow","version":3,"schemaVersion":2,"tasks":[)"
                             R"({"name":"pay","taskReferenceName":"pay","type":"SUB_WORKFLOW",)"
                             R"("subWorkflowParam":{"name":"charge_wf","version":1}},)"
                             R"({"name":"ship","taskReferenceName":"ship","type":"SUB_WORKFLOW",)"
                             R"("subWorkflowParam":{"name":"shipping_flow"}}]})");
  ASSERT_EQ(r.status, 200) << r.body;

  HttpResult preview =
      rest_->Post("/api/cmig/discovery", R"({"selection":{"workflows":[{"name":"order_flow"}]}})");
  ASSERT_EQ(preview.status, 200) << preview.body;
  const Value body = preview.Json();
  const auto& workflows = Field(body, "workflows").list_value().values();
  ASSERT_EQ(workflows.size(), 2);
  EXPECT_EQ(Field(workflows[0], "name").string_value(), "charge_wf");
  EXPECT_FALSE(Field(workflows[0], "requested").bool_value());
  EXPECT_EQ(Field(workflows[0], "discoveredFrom").string_value(), "workflow:order_flow:3");
  EXPECT_EQ(Field(workflows[1], "name").string_value(), "order_flow");
  EXPECT_EQ(Field(workflows[1], "version").number_value(), 3);
  EXPECT_TRUE(Field(workflows[1], "requested").bool_value());
  const auto& task_defs = Field(body, "taskDefs").list_value().values();
  ASSERT_EQ(task_defs.size(), 1);
  EXPECT_EQ(Field(task_defs[0], "name").string_value(), "charge");
  EXPECT_EQ(Field(task_defs[0], "discoveredFrom").string_value(), "workflow:charge_wf:1");
  // The sub-workflow this server does not hold stays unresolved, with who refers to it.
  EXPECT_NE(preview.body.find("shipping_flow"), std::string::npos) << preview.body;
  const auto& unresolved = Field(Field(body, "dependencies"), "unresolved").list_value().values();
  ASSERT_EQ(unresolved.size(), 1) << preview.body;
  EXPECT_EQ(Field(unresolved[0], "name").string_value(), "shipping_flow");

  HttpResult missing =
      rest_->Post("/api/cmig/discovery", R"({"selection":{"workflows":[{"name":"nope"}]}})");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("nope"), std::string::npos) << missing.body;
  EXPECT_EQ(rest_->Post("/api/cmig/discovery", R"({"selection":{"taskDefs":["*"]}})").status, 400);
  EXPECT_EQ(rest_->Post("/api/cmig/discovery", R"({"selection":"order_flow"})").status, 400);
  EXPECT_EQ(rest_->Post("/api/cmig/discovery", "{").status, 400);
}

// The incoming workflow of a migration is read through this server; for anything else the
// answer says what is wrong.
TEST_F(RestApiTest, TheIncomingRouteNamesWhatIsNotAMigration) {
  DefineOneTaskWorkflow("plain");
  HttpResult started = rest_->Post("/api/workflow/plain_wf", R"({"x":1})");
  ASSERT_EQ(started.status, 200) << started.body;
  HttpResult r = rest_->Get(absl::StrCat("/api/cmig/migrations/", started.body, "/incoming"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("is no migration"), std::string::npos) << r.body;
  EXPECT_EQ(rest_->Get("/api/cmig/migrations/no-such-workflow/incoming").status, 404);
}

}  // namespace
}  // namespace cmig::orchestrator::test
