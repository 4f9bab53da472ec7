#include "migration/environments.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "definitions/message_value.h"

namespace cmig::migration {

absl::StatusOr<v1::Environment> ExtensionEnvironmentResolver::Resolve(absl::string_view id) {
  return client_.GetEnvironment(id);
}

absl::StatusOr<std::string> ExtensionSecretResolver::Resolve(absl::string_view name) {
  return client_.GetSecret(name);
}

absl::StatusOr<std::unique_ptr<ConfigEnvironmentResolver>> ConfigEnvironmentResolver::FromFile(
    absl::string_view path) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read environments file ", path));
  std::ostringstream content;
  content << in.rdbuf();
  return FromJson(content.str(), path);
}

absl::StatusOr<std::unique_ptr<ConfigEnvironmentResolver>> ConfigEnvironmentResolver::FromJson(
    absl::string_view json, absl::string_view origin) {
  v1::ListEnvironmentsResponse list;
  if (absl::Status s = MessageFromJson(json, &list); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("environments file ", origin, ": ", s.message()));
  }
  auto out = std::unique_ptr<ConfigEnvironmentResolver>(new ConfigEnvironmentResolver());
  out->origin_ = std::string(origin);
  for (const v1::Environment& e : list.environments()) {
    if (e.id().empty() || e.address().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "environments file ", origin, ": every environment needs an id and an address"));
    }
    if (!out->environments_.emplace(e.id(), e).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("environments file ", origin, ": environment '", e.id(), "' repeats"));
    }
  }
  return out;
}

absl::StatusOr<v1::Environment> ConfigEnvironmentResolver::Resolve(absl::string_view id) {
  auto it = environments_.find(id);
  if (it == environments_.end()) {
    return absl::NotFoundError(
        absl::StrCat("environment '", id, "' is not configured (", origin_, ")"));
  }
  return it->second;
}

ConfigSecretResolver::ConfigSecretResolver(std::string dir, EnvLookup env)
    : dir_(std::move(dir)),
      env_(env ? std::move(env) : [](const std::string&) { return std::optional<std::string>(); }) {
}

absl::StatusOr<std::string> ConfigSecretResolver::Resolve(absl::string_view name) {
  if (name.empty() || name.find('/') != absl::string_view::npos || name == "." || name == "..") {
    return absl::InvalidArgumentError(absl::StrCat("invalid secret name '", name, "'"));
  }
  if (!dir_.empty()) {
    std::ifstream in(absl::StrCat(dir_, "/", name), std::ios::binary);
    if (in) {
      std::ostringstream content;
      content << in.rdbuf();
      return std::string(absl::StripAsciiWhitespace(content.str()));
    }
  }
  std::string var = "CMIG_SECRET_";
  for (char c : name) var += absl::ascii_isalnum(c) ? absl::ascii_toupper(c) : '_';
  if (std::optional<std::string> v = env_(var)) return *v;
  return absl::NotFoundError(absl::StrCat("secret '", name, "' is in neither ",
                                          dir_.empty() ? "a secrets directory" : dir_, " nor $",
                                          var));
}

absl::StatusOr<v1::Environment> FallbackEnvironmentResolver::Resolve(absl::string_view id) {
  absl::StatusOr<v1::Environment> e = primary_.Resolve(id);
  if (e.ok() || !(absl::IsUnimplemented(e.status()) || absl::IsNotFound(e.status()))) return e;
  absl::StatusOr<v1::Environment> f = fallback_.Resolve(id);
  if (f.ok() || !absl::IsNotFound(f.status())) return f;
  return absl::NotFoundError(absl::StrCat(e.status().message(), "; ", f.status().message()));
}

absl::StatusOr<std::string> FallbackSecretResolver::Resolve(absl::string_view name) {
  absl::StatusOr<std::string> v = primary_.Resolve(name);
  if (v.ok() || !(absl::IsUnimplemented(v.status()) || absl::IsNotFound(v.status()))) return v;
  absl::StatusOr<std::string> f = fallback_.Resolve(name);
  if (f.ok() || !absl::IsNotFound(f.status())) return f;
  return absl::NotFoundError(absl::StrCat(v.status().message(), "; ", f.status().message()));
}

}  // namespace cmig::migration
