// Bearer-token authentication on every RPC, TLS, and the gRPC health service.
#include <grpcpp/generic/generic_stub.h>

#include <fstream>

#include "orchestrator_testing.h"
#include "rest_testing.h"
#include "tests/testing/self_signed.h"

namespace cmig::orchestrator::test {
namespace {

using ::cmig::testing::StatusIs;

void WriteFile(const std::string& path, const std::string& body) {
  std::ofstream out(path, std::ios::trunc);
  out << body;
}

class AuthTest : public OrchestratorTest {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    options_.db_path = dir_ + "/orchestrator.db";
    options_.tokens_file = dir_ + "/tokens";
    WriteFile(options_.tokens_file, "# operators\nfirst-token\n\n  second-token  \n");
    StartServer();
  }
  Client WithToken(const std::string& token) {
    return Client(::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()),
                  token);
  }
};

TEST_F(AuthTest, CallsWithoutAValidTokenAreUnauthenticated) {
  WorkflowDef def;
  def.set_name("guarded");
  def.set_version(1);
  *def.add_tasks() = SimpleTask("g", "g");

  EXPECT_THAT(client().CreateWorkflowDef(def),
              StatusIs(absl::StatusCode::kUnauthenticated, ::testing::_));
  EXPECT_THAT(WithToken("wrong").CreateWorkflowDef(def),
              StatusIs(absl::StatusCode::kUnauthenticated, ::testing::_));
  EXPECT_THAT(client().BatchPoll("g", 1, 100).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, ::testing::_));
  EXPECT_THAT(client().Get("anything").status(),
              StatusIs(absl::StatusCode::kUnauthenticated, ::testing::_));
  cmig::v1::ListTaskDefsResponse list;
  EXPECT_EQ(client()
                .catalog->ListTaskDefs(client().Ctx().get(), cmig::v1::ListTaskDefsRequest(), &list)
                .error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);

  ASSERT_OK(WithToken("first-token").CreateWorkflowDef(def));
  Client second = WithToken("second-token");  // surrounding blanks are not part of a token
  auto id = second.Start("guarded");
  ASSERT_OK(id.status());
  auto polled = second.BatchPoll("g", 1, 2000);
  ASSERT_OK(polled.status());
  EXPECT_EQ(polled->size(), 1u);
}

// A unary call with an empty request to any method, as a client that knows no stubs.
::grpc::Status GenericCall(Client& client, const std::string& method) {
  ::grpc::GenericStub stub(client.channel_);
  ::grpc::Slice empty{std::string()};
  ::grpc::ByteBuffer request(&empty, 1);
  ::grpc::ByteBuffer response;
  absl::Notification done;
  ::grpc::Status status;
  auto ctx = client.Ctx();
  stub.UnaryCall(ctx.get(), method, ::grpc::StubOptions(), &request, &response,
                 [&](::grpc::Status s) {
                   status = s;
                   done.Notify();
                 });
  done.WaitForNotification();
  return status;
}

TEST_F(AuthTest, HealthAndUnknownMethodsNeedNoTokenAndRefusalsNeverEchoTheToken) {
  EXPECT_TRUE(GenericCall(client(), "/grpc.health.v1.Health/Check").ok());
  EXPECT_EQ(GenericCall(client(), "/no.such.Service/Method").error_code(),
            ::grpc::StatusCode::UNIMPLEMENTED);
  Client wrong = WithToken("leaked-secret");
  ::grpc::Status refused = GenericCall(wrong, "/conductor.grpc.tasks.TaskService/GetTask");
  EXPECT_EQ(refused.error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(refused.error_message(), ::testing::Not(::testing::HasSubstr("leaked-secret")));
}

TEST(AuthOptionsTest, TokensFileWithoutTokensIsRefused) {
  std::string dir = MakeTempDir();
  ServerOptions options;
  options.db_path = dir + "/o.db";
  options.tokens_file = dir + "/tokens";
  WriteFile(options.tokens_file, "\n# nothing\n");
  EXPECT_THAT(OrchestratorServer::Start(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  std::filesystem::remove_all(dir);
}

using ::cmig::testing::CertAndKey;
using ::cmig::testing::MakeSelfSigned;

// Options for a server in `dir` serving with `ck`, written there as its certificate and key.
ServerOptions TlsOptions(const std::string& dir, const CertAndKey& ck) {
  ServerOptions options;
  options.db_path = dir + "/o.db";
  options.tls_cert_file = dir + "/cert.pem";
  options.tls_key_file = dir + "/key.pem";
  WriteFile(options.tls_cert_file, ck.cert_pem);
  WriteFile(options.tls_key_file, ck.key_pem);
  return options;
}

TEST(TlsTest, ServesOverTlsOnly) {
  std::string dir = MakeTempDir();
  CertAndKey ck = MakeSelfSigned();
  ServerOptions options = TlsOptions(dir, ck);
  auto server = OrchestratorServer::Start(options);
  ASSERT_OK(server.status());

  ::grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ck.cert_pem;
  ::grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  Client tls(::grpc::CreateCustomChannel((*server)->address(), ::grpc::SslCredentials(ssl), args));
  cmig::v1::ListTaskDefsResponse list;
  EXPECT_TRUE(
      tls.catalog->ListTaskDefs(tls.Ctx().get(), cmig::v1::ListTaskDefsRequest(), &list).ok());

  Client plain(::grpc::CreateChannel((*server)->address(), ::grpc::InsecureChannelCredentials()));
  EXPECT_FALSE(
      plain.catalog
          ->ListTaskDefs(plain.Ctx(absl::Seconds(2)).get(), cmig::v1::ListTaskDefsRequest(), &list)
          .ok());
  (*server)->Shutdown();
  std::filesystem::remove_all(dir);
}

TEST(TlsTest, RestApiServesOverHttpsWithTheSameCertificate) {
  std::string dir = MakeTempDir();
  CertAndKey ck = MakeSelfSigned();
  ServerOptions options = TlsOptions(dir, ck);
  options.http_listen_address = "127.0.0.1:0";
  auto server = OrchestratorServer::Start(options);
  ASSERT_OK(server.status());
  ASSERT_EQ((*server)->http_address().substr(0, 8), "https://");

  // curl verifies the chain against the certificate and the host name against its SAN.
  HttpResult over_tls;
  curl_slist* headers = nullptr;
  CURL* curl =
      RestClient((*server)->http_address()).Prepare("GET", "/health", nullptr, &over_tls, &headers);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_blob ca{ck.cert_pem.data(), ck.cert_pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
  RestClient::Collect(curl, curl_easy_perform(curl), &over_tls);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  EXPECT_EQ(over_tls.status, 200) << over_tls.error;

  // Plain HTTP on the HTTPS port gets no answer.
  HttpResult plain =
      RestClient(absl::StrCat("http://127.0.0.1:", (*server)->http_port())).Get("/health");
  EXPECT_NE(plain.status, 200);
  (*server)->Shutdown();
  std::filesystem::remove_all(dir);
}

TEST(TlsTest, TokensAreCheckedOverTls) {
  std::string dir = MakeTempDir();
  CertAndKey ck = MakeSelfSigned();
  ServerOptions options = TlsOptions(dir, ck);
  options.tokens_file = dir + "/tokens";
  WriteFile(options.tokens_file, "tls-token\n");
  auto server = OrchestratorServer::Start(options);
  ASSERT_OK(server.status());

  ::grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ck.cert_pem;
  ::grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto channel =
      ::grpc::CreateCustomChannel((*server)->address(), ::grpc::SslCredentials(ssl), args);
  Client with_token(channel, "tls-token");
  Client without_token(channel);
  cmig::v1::ListTaskDefsResponse list;
  EXPECT_TRUE(with_token.catalog
                  ->ListTaskDefs(with_token.Ctx().get(), cmig::v1::ListTaskDefsRequest(), &list)
                  .ok());
  EXPECT_EQ(without_token.catalog
                ->ListTaskDefs(without_token.Ctx().get(), cmig::v1::ListTaskDefsRequest(), &list)
                .error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
  (*server)->Shutdown();
  std::filesystem::remove_all(dir);
}

TEST(TlsTest, CertificateWithoutKeyIsRefused) {
  ServerOptions options;
  options.db_path = "/tmp/unused.db";
  options.tls_cert_file = "/tmp/cert.pem";
  EXPECT_THAT(OrchestratorServer::Start(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

class HealthTest : public OrchestratorTest {};

TEST_F(HealthTest, HealthServiceReportsServing) {
  // grpc.health.v1.Health/Check with an empty HealthCheckRequest; the response
  // is HealthCheckResponse{status: SERVING (1)} = bytes 08 01.
  ::grpc::GenericStub stub(client().channel_);
  ::grpc::Slice empty{std::string()};
  ::grpc::ByteBuffer request(&empty, 1);
  ::grpc::ByteBuffer response;
  absl::Notification done;
  ::grpc::Status status;
  auto ctx = client().Ctx();
  stub.UnaryCall(ctx.get(), "/grpc.health.v1.Health/Check", ::grpc::StubOptions(), &request,
                 &response, [&](::grpc::Status s) {
                   status = s;
                   done.Notify();
                 });
  done.WaitForNotification();
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<::grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
}

}  // namespace
}  // namespace cmig::orchestrator::test
