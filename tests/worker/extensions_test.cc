// The embedded orchestrator's extension services (environments, secrets, blob store, definition
// removal) through their gRPC client, and the worker-side fallback resolvers.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "client/extensions_client.h"
#include "client/grpc_client.h"
#include "cmig/v1/extensions.grpc.pb.h"
#include "definitions/canonical.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "migration/environments.h"
#include "orchestrator/server.h"
#include "orchestrator/sqlite.h"

namespace cmig {
namespace {

using ::cmig::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

class ExtensionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/extensions_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ + "/tokens") << "good-token\n";
    Start();
  }
  void TearDown() override {
    ext_.reset();
    if (server_) server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }
  void Start(int64_t max_package_bytes = int64_t{256} << 20) {
    orchestrator::ServerOptions options;
    options.db_path = dir_ + "/o.db";
    options.tokens_file = dir_ + "/tokens";
    options.max_package_bytes = max_package_bytes;
    auto s = orchestrator::OrchestratorServer::Start(options);
    ASSERT_OK(s.status());
    server_ = *std::move(s);
    ext_ = Client("good-token");
  }
  std::unique_ptr<client::GrpcExtensionsClient> Client(const std::string& token) {
    client::ClientOptions options;
    options.address = server_->address();
    options.token = token;
    options.call_timeout = absl::Seconds(5);
    auto c = client::GrpcExtensionsClient::Create(options);
    EXPECT_OK(c.status());
    return c.ok() ? *std::move(c) : nullptr;
  }

  std::string dir_;
  std::unique_ptr<orchestrator::OrchestratorServer> server_;
  std::unique_ptr<client::GrpcExtensionsClient> ext_;
};

TEST_F(ExtensionsTest, EnvironmentsAndSecretsPersistAcrossRestart) {
  v1::Environment env;
  env.set_id("prod");
  env.set_address("prod:8090");
  env.set_use_tls(true);
  env.set_token_secret("prod-token");
  ASSERT_OK(ext_->PutEnvironment(env));
  ASSERT_OK(ext_->PutSecret("prod-token", "s3cr3t-value"));
  EXPECT_THAT(ext_->PutEnvironment(v1::Environment()),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));

  server_->Shutdown();
  server_.reset();
  Start();
  ASSERT_OK_AND_ASSIGN(v1::Environment got, ext_->GetEnvironment("prod"));
  EXPECT_EQ(got.address(), "prod:8090");
  EXPECT_TRUE(got.use_tls());
  ASSERT_OK_AND_ASSIGN(auto envs, ext_->ListEnvironments());
  EXPECT_EQ(envs.size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::string value, ext_->GetSecret("prod-token"));
  EXPECT_EQ(value, "s3cr3t-value");
  ASSERT_OK_AND_ASSIGN(auto names, ext_->ListSecretNames());
  EXPECT_THAT(names, ::testing::ElementsAre("prod-token"));

  ASSERT_OK(ext_->DeleteSecret("prod-token"));
  absl::Status missing = ext_->GetSecret("prod-token").status();
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(std::string(missing.message()), Not(HasSubstr("s3cr3t")));
  ASSERT_OK(ext_->DeleteEnvironment("prod"));
  EXPECT_THAT(ext_->GetEnvironment("prod").status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(ext_->DeleteEnvironment("prod"), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

TEST_F(ExtensionsTest, EveryServiceChecksTheBearerToken) {
  auto bad = Client("wrong-token");
  EXPECT_THAT(bad->GetSecret("x").status(),
              StatusIs(absl::StatusCode::kUnauthenticated, ::testing::_));
  EXPECT_THAT(bad->ListEnvironments().status(),
              StatusIs(absl::StatusCode::kUnauthenticated, ::testing::_));
  EXPECT_THAT(bad->GetBlob(std::string(64, 'a')).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, ::testing::_));
  EXPECT_THAT(bad->DeleteWorkflowDef("w", 1),
              StatusIs(absl::StatusCode::kUnauthenticated, ::testing::_));
}

TEST_F(ExtensionsTest, BlobsAreContentAddressedChunkedAndIdempotent) {
  // Larger than two chunks, so the upload and the download both take several calls.
  std::string bytes;
  for (int i = 0; bytes.size() < 2 * client::GrpcExtensionsClient::kChunkBytes + 12345; ++i) {
    absl::StrAppend(&bytes, "line ", i, "\n");
  }
  const std::string digest = Sha256Hex(bytes);
  ASSERT_OK(ext_->PutBlob(digest, bytes));
  ASSERT_OK(ext_->PutBlob(digest, bytes));  // again: nothing changes
  ASSERT_OK_AND_ASSIGN(std::string back, ext_->GetBlob(digest));
  EXPECT_EQ(back, bytes);

  // Bytes that do not hash to the claimed digest are refused and not stored.
  const std::string other = Sha256Hex("other");
  EXPECT_THAT(ext_->PutBlob(other, "not other"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(ext_->GetBlob(other).status(), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  ASSERT_OK(ext_->PutBlob(other, "other"));
  ASSERT_OK_AND_ASSIGN(std::string o, ext_->GetBlob(other));
  EXPECT_EQ(o, "other");
}

// Chunks sent straight through the generated BlobStore stub: a commit joins only chunks that
// tile the blob exactly, in any order of arrival, and hash to its digest. Anything else is
// refused with the reason, stores nothing and drops the chunks, so a correct upload after it
// starts clean.
TEST_F(ExtensionsTest, CommitJoinsOnlyChunksThatMakeTheBlob) {
  auto blobs = v1::BlobStore::NewStub(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
  auto put = [&](const std::string& digest, int64_t offset, const std::string& data) {
    ::grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer good-token");
    v1::PutBlobChunkRequest req;
    req.set_digest(digest);
    req.set_offset(offset);
    req.set_data(data);
    v1::PutBlobChunkResponse resp;
    return blobs->PutBlobChunk(&ctx, req, &resp);
  };
  auto commit = [&](const std::string& digest, int64_t size) {
    ::grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer good-token");
    v1::CommitBlobRequest req;
    req.set_digest(digest);
    req.set_size(size);
    v1::CommitBlobResponse resp;
    return blobs->CommitBlob(&ctx, req, &resp);
  };
  const std::string bytes = "first chunk|second chunk|third";
  const std::string digest = Sha256Hex(bytes);

  // A gap: the middle chunk is missing.
  ASSERT_TRUE(put(digest, 0, "first chunk|").ok());
  ASSERT_TRUE(put(digest, 25, "third").ok());
  ::grpc::Status gap = commit(digest, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(gap.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(gap.error_message(), HasSubstr("the chunks hold 12 contiguous bytes, expected 30"));
  EXPECT_THAT(ext_->GetBlob(digest).status(), StatusIs(absl::StatusCode::kNotFound, ::testing::_));

  // The dropped chunks are not joined later: the middle chunk alone is not the blob.
  ASSERT_TRUE(put(digest, 12, "second chunk|").ok());
  EXPECT_EQ(commit(digest, static_cast<int64_t>(bytes.size())).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);

  // Chunks that tile the blob but claim another size, then other bytes of the right size.
  ASSERT_TRUE(put(digest, 0, bytes).ok());
  EXPECT_THAT(commit(digest, 31).error_message(),
              HasSubstr("the chunks hold 30 contiguous bytes, expected 31"));
  std::string altered = bytes;
  altered[3] = 'X';
  ASSERT_TRUE(put(digest, 0, altered).ok());
  ::grpc::Status wrong = commit(digest, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(wrong.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(wrong.error_message(), HasSubstr("hash to a different digest"));
  EXPECT_THAT(ext_->GetBlob(digest).status(), StatusIs(absl::StatusCode::kNotFound, ::testing::_));

  // The right chunks, sent last first, make the blob.
  ASSERT_TRUE(put(digest, 25, "third").ok());
  ASSERT_TRUE(put(digest, 12, "second chunk|").ok());
  ASSERT_TRUE(put(digest, 0, "first chunk|").ok());
  ASSERT_TRUE(commit(digest, static_cast<int64_t>(bytes.size())).ok());
  ASSERT_OK_AND_ASSIGN(std::string back, ext_->GetBlob(digest));
  EXPECT_EQ(back, bytes);

  // An empty blob is a blob too.
  const std::string empty_digest = Sha256Hex("");
  ASSERT_TRUE(put(empty_digest, 0, "").ok());
  ASSERT_TRUE(commit(empty_digest, 0).ok());
  ASSERT_OK_AND_ASSIGN(std::string empty, ext_->GetBlob(empty_digest));
  EXPECT_EQ(empty, "");
}

// A committed blob is kept as the chunks that were uploaded: any range of it reads back, across
// chunk borders; chunks sent again for it (cut differently) change nothing; and a blob an
// earlier version stored whole in its row still reads back by range.
TEST_F(ExtensionsTest, StoredBlobsReadBackByRangeAndLaterUploadsChangeNothing) {
  auto blobs = v1::BlobStore::NewStub(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
  auto context = [] {
    auto ctx = std::make_unique<::grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer good-token");
    return ctx;
  };
  auto put = [&](const std::string& digest, int64_t offset, const std::string& data) {
    v1::PutBlobChunkRequest req;
    req.set_digest(digest);
    req.set_offset(offset);
    req.set_data(data);
    v1::PutBlobChunkResponse resp;
    return blobs->PutBlobChunk(context().get(), req, &resp);
  };
  auto commit = [&](const std::string& digest, int64_t size) {
    v1::CommitBlobRequest req;
    req.set_digest(digest);
    req.set_size(size);
    v1::CommitBlobResponse resp;
    return blobs->CommitBlob(context().get(), req, &resp);
  };
  // Every range [offset, offset + max) of the blob, read through GetBlob.
  auto expect_ranges = [&](const std::string& digest, const std::string& bytes) {
    const int64_t size = static_cast<int64_t>(bytes.size());
    for (int64_t offset = 0; offset <= size; ++offset) {
      for (int64_t max : {1, 5, 13, 40}) {
        v1::GetBlobRequest req;
        req.set_digest(digest);
        req.set_offset(offset);
        req.set_max_bytes(max);
        v1::GetBlobResponse resp;
        ASSERT_TRUE(blobs->GetBlob(context().get(), req, &resp).ok());
        EXPECT_EQ(resp.total_size(), size);
        EXPECT_EQ(resp.data(), bytes.substr(static_cast<size_t>(offset), static_cast<size_t>(max)))
            << "offset " << offset << " max " << max;
      }
    }
  };

  const std::string bytes = "first chunk|second chunk|third";
  const std::string digest = Sha256Hex(bytes);
  ASSERT_TRUE(put(digest, 0, "first chunk|").ok());
  ASSERT_TRUE(put(digest, 12, "second chunk|").ok());
  ASSERT_TRUE(put(digest, 25, "third").ok());
  ASSERT_TRUE(commit(digest, static_cast<int64_t>(bytes.size())).ok());
  ASSERT_NO_FATAL_FAILURE(expect_ranges(digest, bytes));

  // The same blob uploaded again in other pieces, some of them wrong: the stored blob stays.
  ASSERT_TRUE(put(digest, 5, "XXXXXXXXXX").ok());
  ASSERT_TRUE(put(digest, 0, "first").ok());
  ASSERT_TRUE(commit(digest, static_cast<int64_t>(bytes.size())).ok());
  ASSERT_NO_FATAL_FAILURE(expect_ranges(digest, bytes));
  ASSERT_OK_AND_ASSIGN(std::string back, ext_->GetBlob(digest));
  EXPECT_EQ(back, bytes);

  // A blob in the form earlier versions stored: its bytes in its own row, no chunks.
  ext_.reset();
  server_->Shutdown();
  server_.reset();
  const std::string old_bytes = "stored whole by an earlier version";
  const std::string old_digest = Sha256Hex(old_bytes);
  {
    ASSERT_OK_AND_ASSIGN(
        orchestrator::SqliteDb db,
        orchestrator::SqliteDb::Open(dir_ + "/o.db", SQLITE_OPEN_NOMUTEX, absl::Seconds(5)));
    ASSERT_OK(
        db.Exec(absl::StrCat("INSERT INTO cmig_blobs(digest, size, data) VALUES('", old_digest,
                             "', ", old_bytes.size(), ", CAST('", old_bytes, "' AS BLOB))")
                    .c_str()));
  }
  ASSERT_NO_FATAL_FAILURE(Start());
  blobs = v1::BlobStore::NewStub(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
  ASSERT_NO_FATAL_FAILURE(expect_ranges(old_digest, old_bytes));
  ASSERT_NO_FATAL_FAILURE(expect_ranges(digest, bytes));
  ASSERT_OK(ext_->DeleteBlob(old_digest));
  EXPECT_THAT(ext_->GetBlob(old_digest).status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

// A package past the store's limit is refused at the chunk that passes it, naming the limit,
// and nothing of it stays; one within the limit is stored as usual.
TEST_F(ExtensionsTest, BlobsPastTheLimitAreRefusedNamingIt) {
  ext_.reset();
  server_->Shutdown();
  const int64_t limit = client::GrpcExtensionsClient::kChunkBytes + 100;
  ASSERT_NO_FATAL_FAILURE(Start(limit));
  const std::string big(2 * client::GrpcExtensionsClient::kChunkBytes, 'x');
  const std::string digest = Sha256Hex(big);
  EXPECT_THAT(ext_->PutBlob(digest, big),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr(absl::StrCat("at most ", limit, " bytes"))));
  EXPECT_THAT(ext_->GetBlob(digest).status(), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  const std::string fits(limit, 'y');
  ASSERT_OK(ext_->PutBlob(Sha256Hex(fits), fits));
  ASSERT_OK_AND_ASSIGN(std::string back, ext_->GetBlob(Sha256Hex(fits)));
  EXPECT_EQ(back, fits);
}

TEST_F(ExtensionsTest, DeleteWorkflowDefRemovesOneVersion) {
  client::ClientOptions options;
  options.address = server_->address();
  options.token = "good-token";
  ASSERT_OK_AND_ASSIGN(auto orch, client::GrpcOrchestratorClient::Create(options));
  conductor::proto::WorkflowDef def;
  def.set_name("to_remove");
  def.set_schema_version(2);
  auto* t = def.add_tasks();
  t->set_name("t");
  t->set_task_reference_name("t_ref");
  t->set_type("SIMPLE");
  for (int v : {1, 2}) {
    def.set_version(v);
    ASSERT_OK(orch->UpdateWorkflowDefs({def}));
  }
  ASSERT_OK(ext_->DeleteWorkflowDef("to_remove", 2));
  EXPECT_THAT(ext_->DeleteWorkflowDef("to_remove", 2),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  ASSERT_OK_AND_ASSIGN(auto latest, orch->GetWorkflowDef("to_remove", 0));
  EXPECT_EQ(latest.version(), 1);
  // Durable: a restarted orchestrator does not bring version 2 back.
  orch.reset();
  server_->Shutdown();
  server_.reset();
  Start();
  options.address = server_->address();
  ASSERT_OK_AND_ASSIGN(orch, client::GrpcOrchestratorClient::Create(options));
  EXPECT_THAT(orch->GetWorkflowDef("to_remove", 2).status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

// A secret resolver that answers like a server without the extension.
class Unimplemented final : public migration::SecretResolver {
 public:
  absl::StatusOr<std::string> Resolve(absl::string_view) override {
    return absl::UnimplementedError("no extension");
  }
};
class UnimplementedEnv final : public migration::EnvironmentResolver {
 public:
  absl::StatusOr<v1::Environment> Resolve(absl::string_view) override {
    return absl::UnimplementedError("no extension");
  }
};

TEST(FallbackResolversTest, ConfigFileAndSecretFilesOrVariables) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/resolvers_", ::getpid());
  std::filesystem::create_directories(dir + "/secrets");
  std::ofstream(dir + "/secrets/prod-token") << "  from-file \n";
  ASSERT_OK_AND_ASSIGN(
      auto file,
      migration::ConfigEnvironmentResolver::FromJson(
          R"({"environments":[{"id":"prod","address":"p:1","tokenSecret":"prod-token"}]})",
          "test.json"));
  migration::ConfigSecretResolver secrets(dir + "/secrets", [](const std::string& name) {
    return name == "CMIG_SECRET_STAGE_TOKEN" ? std::optional<std::string>("from-env")
                                             : std::nullopt;
  });
  UnimplementedEnv no_env;
  Unimplemented no_secrets;
  migration::FallbackEnvironmentResolver envs(no_env, *file);
  migration::FallbackSecretResolver both(no_secrets, secrets);
  ASSERT_OK_AND_ASSIGN(v1::Environment prod, envs.Resolve("prod"));
  EXPECT_EQ(prod.address(), "p:1");
  EXPECT_THAT(envs.Resolve("nowhere").status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  ASSERT_OK_AND_ASSIGN(std::string v, both.Resolve("prod-token"));
  EXPECT_EQ(v, "from-file");
  ASSERT_OK_AND_ASSIGN(v, both.Resolve("stage-token"));
  EXPECT_EQ(v, "from-env");
  EXPECT_THAT(both.Resolve("missing").status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(both.Resolve("../etc/passwd").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(migration::ConfigEnvironmentResolver::FromJson(
                  R"({"environments":[{"id":"a","address":"x"},{"id":"a","address":"y"}]})", "t")
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cmig
