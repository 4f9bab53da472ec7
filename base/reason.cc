#include "base/reason.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cmig {
namespace {

constexpr absl::string_view kTask = "Task ";
constexpr absl::string_view kStatus = " failed with status: ";
constexpr absl::string_view kReason = " and reason: '";

// "CODE: rest" -> "rest" for an absl status code name.
absl::string_view WithoutCode(absl::string_view s) {
  const size_t colon = s.find(": ");
  if (colon == absl::string_view::npos || colon > 32) return s;
  const absl::string_view code = s.substr(0, colon);
  for (int c = 1; c <= 16; ++c) {
    if (code == absl::StatusCodeToString(static_cast<absl::StatusCode>(c))) {
      return s.substr(colon + 2);
    }
  }
  return s;
}

}  // namespace

std::string InnermostCause(absl::string_view reason) {
  std::string out;
  absl::string_view rest = reason;
  // Each wrapper found is dropped, its quoted reason read in its place; a wrapper ends the text
  // around it, so its reason ends at the last quote.
  while (true) {
    rest = WithoutCode(rest);
    const size_t at = rest.find(kTask);
    if (at == absl::string_view::npos) break;
    const size_t status = rest.find(kStatus, at);
    const size_t quoted = status == absl::string_view::npos ? status : rest.find(kReason, status);
    const size_t close = rest.rfind('\'');
    // Only "Task <one word> failed ..." is a wrapper.
    if (quoted == absl::string_view::npos || close == absl::string_view::npos ||
        close < quoted + kReason.size() ||
        rest.substr(at + kTask.size(), status - at - kTask.size()).find(' ') !=
            absl::string_view::npos) {
      break;
    }
    absl::StrAppend(&out, rest.substr(0, at));
    const absl::string_view after = rest.substr(close + 1);
    rest = rest.substr(quoted + kReason.size(), close - quoted - kReason.size());
    if (!after.empty()) {
      // Text after the wrapper (e.g. how a rollback ended) follows the inner reason.
      return absl::StrCat(out, InnermostCause(rest), after);
    }
  }
  absl::StrAppend(&out, rest);
  return out;
}

}  // namespace cmig
