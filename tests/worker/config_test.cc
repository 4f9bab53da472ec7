#include "worker/config.h"

#include <cstdio>
#include <fstream>
#include <map>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig::worker {
namespace {

using ::cmig::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string WriteTempFile(const std::string& content) {
  std::string path = ::testing::TempDir() + "/token_" + std::to_string(::getpid());
  std::ofstream(path) << content;
  return path;
}

TEST(ConfigTest, DefaultsWithNothingSet) {
  ASSERT_OK_AND_ASSIGN(WorkerConfig c, ResolveConfig({}, Env({}), {"a"}));
  EXPECT_EQ(c.client.address, "127.0.0.1:8090");
  EXPECT_TRUE(c.client.token.empty());
  EXPECT_FALSE(c.client.use_tls);
  EXPECT_FALSE(c.worker.worker_id.empty());
  EXPECT_EQ(c.worker.per_type.at("a").threads, 1);
  EXPECT_EQ(c.worker.per_type.at("a").domain, "");
  EXPECT_EQ(c.worker.poll_timeout, absl::Seconds(1));
}

TEST(ConfigTest, EnvironmentFollowsConductorConventions) {
  auto env = Env({{"CONDUCTOR_SERVER_URL", "grpc://orchestrator:8090"},
                  {"CONDUCTOR_AUTH_TOKEN", "s3cret\n"},
                  {"CONDUCTOR_WORKER_ID", "pod-7"},
                  {"CONDUCTOR_WORKER_THREAD_COUNT", "4"},
                  {"CONDUCTOR_WORKER_FETCH_DEFINITIONS_THREAD_COUNT", "2"},
                  {"CONDUCTOR_WORKER_DOMAIN", "blue"},
                  {"CONDUCTOR_WORKER_APPLY_PLAN_DOMAIN", "green"},
                  {"CONDUCTOR_WORKER_POLL_TIMEOUT", "2500"},
                  {"CONDUCTOR_WORKER_POLLING_INTERVAL", "250"}});
  ASSERT_OK_AND_ASSIGN(WorkerConfig c, ResolveConfig({}, env, {"fetch_definitions", "apply_plan"}));
  EXPECT_EQ(c.client.address, "orchestrator:8090");
  EXPECT_EQ(c.client.token, "s3cret");
  EXPECT_EQ(c.worker.worker_id, "pod-7");
  EXPECT_EQ(c.worker.per_type.at("fetch_definitions").threads, 2);
  EXPECT_EQ(c.worker.per_type.at("apply_plan").threads, 4);
  EXPECT_EQ(c.worker.per_type.at("fetch_definitions").domain, "blue");
  EXPECT_EQ(c.worker.per_type.at("apply_plan").domain, "green");
  EXPECT_EQ(c.worker.poll_timeout, absl::Milliseconds(2500));
  EXPECT_EQ(c.worker.poll_interval, absl::Milliseconds(250));
}

TEST(ConfigTest, FlagsWinOverEnvironment) {
  FlagValues f;
  f.server = "10.0.0.1:9000";
  f.threads = 3;
  f.thread_counts = "b=5";
  f.domains = "a=red";
  f.poll_timeout_ms = 100;
  auto env = Env({{"CONDUCTOR_SERVER_URL", "other:1"},
                  {"CONDUCTOR_WORKER_THREAD_COUNT", "8"},
                  {"CONDUCTOR_WORKER_A_THREAD_COUNT", "9"}});
  ASSERT_OK_AND_ASSIGN(WorkerConfig c, ResolveConfig(f, env, {"a", "b"}));
  EXPECT_EQ(c.client.address, "10.0.0.1:9000");
  EXPECT_EQ(c.worker.per_type.at("a").threads, 3);
  EXPECT_EQ(c.worker.per_type.at("b").threads, 5);
  EXPECT_EQ(c.worker.per_type.at("a").domain, "red");
  EXPECT_EQ(c.worker.per_type.at("b").domain, "");
  EXPECT_EQ(c.worker.poll_timeout, absl::Milliseconds(100));
}

TEST(ConfigTest, TokenFileBeatsTokenVariableAndIsNeverInErrors) {
  const std::string path = WriteTempFile("  file-token-123 \n");
  FlagValues f;
  f.auth_token_file = path;
  ASSERT_OK_AND_ASSIGN(WorkerConfig c,
                       ResolveConfig(f, Env({{"CONDUCTOR_AUTH_TOKEN", "env-token"}}), {"a"}));
  EXPECT_EQ(c.client.token, "file-token-123");
  std::remove(path.c_str());

  f.auth_token_file = path + ".missing";
  EXPECT_THAT(ResolveConfig(f, Env({}), {"a"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(".missing")));
  // A bad setting elsewhere never echoes the token.
  FlagValues g;
  g.thread_counts = "a=x";
  absl::StatusOr<WorkerConfig> bad =
      ResolveConfig(g, Env({{"CONDUCTOR_AUTH_TOKEN", "env-token"}}), {"a"});
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("env-token"))));
}

TEST(ConfigTest, RejectsMalformedValues) {
  FlagValues unknown_type;
  unknown_type.thread_counts = "nope=2";
  EXPECT_THAT(ResolveConfig(unknown_type, Env({}), {"a"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nope")));
  FlagValues malformed;
  malformed.domains = "a";
  EXPECT_THAT(ResolveConfig(malformed, Env({}), {"a"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("task_type=value")));
  EXPECT_THAT(
      ResolveConfig({}, Env({{"CONDUCTOR_WORKER_THREAD_COUNT", "0"}}), {"a"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CONDUCTOR_WORKER_THREAD_COUNT")));
  EXPECT_THAT(ResolveConfig({}, Env({{"CONDUCTOR_WORKER_POLL_TIMEOUT", "9000"}}), {"a"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("5000")));
}

TEST(ConfigTest, TlsFromRootCaFileOrVariable) {
  FlagValues f;
  f.tls_root_ca_file = "/etc/ca.pem";
  ASSERT_OK_AND_ASSIGN(WorkerConfig c, ResolveConfig(f, Env({}), {"a"}));
  EXPECT_TRUE(c.client.use_tls);
  EXPECT_EQ(c.client.root_ca_file, "/etc/ca.pem");
  ASSERT_OK_AND_ASSIGN(WorkerConfig d, ResolveConfig({}, Env({{"CONDUCTOR_TLS", "true"}}), {"a"}));
  EXPECT_TRUE(d.client.use_tls);
}

TEST(ConfigTest, ServerUrlNormalisation) {
  EXPECT_EQ(NormalizeServerAddress("http://localhost:8080/api"), "localhost:8080");
  EXPECT_EQ(NormalizeServerAddress("grpc://h:8090"), "h:8090");
  EXPECT_EQ(NormalizeServerAddress(" h:1 "), "h:1");
  EXPECT_EQ(EnvTaskTypeName("fetch-definitions.v2"), "FETCH_DEFINITIONS_V2");
}

}  // namespace
}  // namespace cmig::worker
