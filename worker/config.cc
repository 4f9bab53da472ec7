#include "worker/config.h"

#include <cstdlib>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"

namespace cmig::worker {
namespace {

constexpr absl::string_view kDefaultServer = "127.0.0.1:8090";
constexpr int kConductorMaxPollTimeoutMs = 5000;

absl::StatusOr<int> ParsePositive(absl::string_view value, absl::string_view source) {
  int n = 0;
  if (!absl::SimpleAtoi(value, &n) || n < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": \"", value, "\" is not a positive integer"));
  }
  return n;
}

absl::StatusOr<int> ParseNonNegative(absl::string_view value, absl::string_view source) {
  int n = 0;
  if (!absl::SimpleAtoi(value, &n) || n < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": \"", value, "\" is not a non-negative integer"));
  }
  return n;
}

absl::StatusOr<bool> ParseBool(absl::string_view value, absl::string_view source) {
  bool b = false;
  if (!absl::SimpleAtob(value, &b)) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": \"", value, "\" is not a boolean"));
  }
  return b;
}

// "a=1,b=2" -> {{"a","1"},{"b","2"}}; every key must be a known task type.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseTypeList(
    absl::string_view list, absl::string_view flag, const std::set<std::string>& known) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    absl::StripAsciiWhitespace(&kv.first);
    absl::StripAsciiWhitespace(&kv.second);
    if (kv.first.empty() || kv.second.empty() || item.find('=') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": \"", item, "\" is not of the form task_type=value"));
    }
    if (!known.contains(kv.first)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": no handler for task type ", kv.first));
    }
    out.push_back(std::move(kv));
  }
  return out;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) {
      return std::nullopt;
    }
    return std::string(v);
  };
}

std::string EnvTaskTypeName(absl::string_view task_type) {
  std::string out(task_type);
  for (char& c : out) {
    c = absl::ascii_toupper(static_cast<unsigned char>(c));
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      c = '_';
    }
  }
  return out;
}

std::string NormalizeServerAddress(absl::string_view url) {
  absl::string_view s = absl::StripAsciiWhitespace(url);
  for (absl::string_view scheme : {"grpc://", "grpcs://", "http://", "https://"}) {
    if (absl::ConsumePrefix(&s, scheme)) {
      break;
    }
  }
  // "host:port/api" -> "host:port": the REST base path means nothing to gRPC.
  if (auto slash = s.find('/'); slash != absl::string_view::npos) {
    s = s.substr(0, slash);
  }
  return std::string(s);
}

absl::StatusOr<WorkerConfig> ResolveConfig(const FlagValues& flags, const EnvLookup& env,
                                           const std::vector<std::string>& task_types) {
  WorkerConfig config;
  ASSIGN_OR_RETURN(config.client, ResolveClientOptions(flags, env));
  ASSIGN_OR_RETURN(config.worker, ResolveWorkerOptions(flags, env, task_types));
  return config;
}

absl::StatusOr<client::ClientOptions> ResolveClientOptions(const FlagValues& flags,
                                                           const EnvLookup& env) {
  struct {
    client::ClientOptions client;
  } config;
  auto get = [&](const char* name) { return env(name); };

  // Server.
  if (!flags.server.empty()) {
    config.client.address = NormalizeServerAddress(flags.server);
  } else if (auto v = get("CONDUCTOR_SERVER_URL"); v && !v->empty()) {
    config.client.address = NormalizeServerAddress(*v);
  } else {
    config.client.address = std::string(kDefaultServer);
  }
  if (config.client.address.empty()) {
    return absl::InvalidArgumentError("--server / CONDUCTOR_SERVER_URL: empty server address");
  }

  // Token: a file (flag, then env), else the env var itself.
  std::string token_file = flags.auth_token_file;
  if (token_file.empty()) {
    if (auto v = get("CONDUCTOR_AUTH_TOKEN_FILE"); v) {
      token_file = *v;
    }
  }
  if (!token_file.empty()) {
    ASSIGN_OR_RETURN(config.client.token, client::ReadTokenFile(token_file));
  } else if (auto v = get("CONDUCTOR_AUTH_TOKEN"); v && !v->empty()) {
    config.client.token = std::string(absl::StripAsciiWhitespace(*v));
  }

  // TLS.
  if (flags.tls.has_value()) {
    config.client.use_tls = *flags.tls;
  } else if (auto v = get("CONDUCTOR_TLS"); v && !v->empty()) {
    ASSIGN_OR_RETURN(config.client.use_tls, ParseBool(*v, "CONDUCTOR_TLS"));
  }
  config.client.root_ca_file = flags.tls_root_ca_file;
  if (config.client.root_ca_file.empty()) {
    if (auto v = get("CONDUCTOR_TLS_ROOT_CA_FILE"); v) {
      config.client.root_ca_file = *v;
    }
  }
  if (!config.client.root_ca_file.empty()) {
    config.client.use_tls = true;
  }
  if (flags.call_timeout_ms >= 0) {
    if (flags.call_timeout_ms == 0) {
      return absl::InvalidArgumentError("--call_timeout_ms: must be positive");
    }
    config.client.call_timeout = absl::Milliseconds(flags.call_timeout_ms);
  }

  return config.client;
}

absl::StatusOr<WorkerOptions> ResolveWorkerOptions(const FlagValues& flags, const EnvLookup& env,
                                                   const std::vector<std::string>& task_types) {
  auto get = [&](const char* name) { return env(name); };
  WorkerOptions w;
  // Worker id.
  if (!flags.worker_id.empty()) {
    w.worker_id = flags.worker_id;
  } else if (auto v = get("CONDUCTOR_WORKER_ID"); v && !v->empty()) {
    w.worker_id = *v;
  } else {
    w.worker_id = DefaultWorkerId();
  }

  // Poll timing.
  if (flags.poll_timeout_ms >= 0) {
    w.poll_timeout = absl::Milliseconds(flags.poll_timeout_ms);
  } else if (auto v = get("CONDUCTOR_WORKER_POLL_TIMEOUT"); v && !v->empty()) {
    ASSIGN_OR_RETURN(int ms, ParseNonNegative(*v, "CONDUCTOR_WORKER_POLL_TIMEOUT"));
    w.poll_timeout = absl::Milliseconds(ms);
  }
  if (w.poll_timeout > absl::Milliseconds(kConductorMaxPollTimeoutMs)) {
    return absl::InvalidArgumentError(
        absl::StrCat("poll timeout ", absl::FormatDuration(w.poll_timeout),
                     " exceeds Conductor's limit of ", kConductorMaxPollTimeoutMs, " ms"));
  }
  if (flags.poll_interval_ms >= 0) {
    w.poll_interval = absl::Milliseconds(flags.poll_interval_ms);
  } else if (auto v = get("CONDUCTOR_WORKER_POLLING_INTERVAL"); v && !v->empty()) {
    ASSIGN_OR_RETURN(int ms, ParseNonNegative(*v, "CONDUCTOR_WORKER_POLLING_INTERVAL"));
    w.poll_interval = absl::Milliseconds(ms);
  }

  // Defaults for every type.
  if (flags.threads >= 0) {
    if (flags.threads == 0) {
      return absl::InvalidArgumentError("--threads: must be at least 1");
    }
    w.defaults.threads = flags.threads;
  } else if (auto v = get("CONDUCTOR_WORKER_THREAD_COUNT"); v && !v->empty()) {
    ASSIGN_OR_RETURN(w.defaults.threads, ParsePositive(*v, "CONDUCTOR_WORKER_THREAD_COUNT"));
  }
  if (!flags.domain.empty()) {
    w.defaults.domain = flags.domain;
  } else if (auto v = get("CONDUCTOR_WORKER_DOMAIN"); v) {
    w.defaults.domain = *v;
  }

  // Per type: env first, the per-type flag lists override.
  const std::set<std::string> known(task_types.begin(), task_types.end());
  for (const std::string& type : task_types) {
    TaskTypeOptions opts = w.defaults;
    const std::string prefix = absl::StrCat("CONDUCTOR_WORKER_", EnvTaskTypeName(type));
    const std::string threads_var = absl::StrCat(prefix, "_THREAD_COUNT");
    if (auto v = get(threads_var.c_str()); v && !v->empty() && flags.threads < 0) {
      ASSIGN_OR_RETURN(opts.threads, ParsePositive(*v, threads_var));
    }
    const std::string domain_var = absl::StrCat(prefix, "_DOMAIN");
    if (auto v = get(domain_var.c_str()); v && flags.domain.empty()) {
      opts.domain = *v;
    }
    w.per_type[type] = opts;
  }
  ASSIGN_OR_RETURN(auto thread_counts, ParseTypeList(flags.thread_counts, "thread_counts", known));
  for (const auto& [type, value] : thread_counts) {
    ASSIGN_OR_RETURN(w.per_type[type].threads,
                     ParsePositive(value, absl::StrCat("--thread_counts ", type)));
  }
  ASSIGN_OR_RETURN(auto domains, ParseTypeList(flags.domains, "domains", known));
  for (const auto& [type, value] : domains) {
    w.per_type[type].domain = value;
  }
  return w;
}

}  // namespace cmig::worker
