// The query language of Conductor's workflow search, as far as this orchestrator answers it
// (search_query.h).
#include "orchestrator/search_query.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"

namespace cmig::orchestrator {
namespace {

using conductor::proto::Workflow;

absl::StatusOr<int> ParseWorkflowStatus(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  s = absl::StripPrefix(absl::StripSuffix(s, "'"), "'");
  s = absl::StripPrefix(absl::StripSuffix(s, "\""), "\"");
  Workflow::WorkflowStatus st;
  if (!Workflow::WorkflowStatus_Parse(std::string(s), &st)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown workflow status '", s, "' in query"));
  }
  return static_cast<int>(st);
}

std::string Unquote(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  return std::string(s);
}

}  // namespace

absl::StatusOr<WorkflowQuery> ParseSearchQuery(int start, int size, const std::string& free_text,
                                               const std::string& query) {
  constexpr int kMaxSearchSize = 5000;
  if (size > kMaxSearchSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("Cannot return more than ", kMaxSearchSize, " results"));
  }
  WorkflowQuery q;
  q.offset = std::max(start, 0);
  q.limit = size <= 0 ? kMaxSearchSize : size;
  std::string text = std::string(absl::StripAsciiWhitespace(free_text));
  if (!text.empty() && text != "*") q.id_or_correlation_id = text;
  if (!absl::StripAsciiWhitespace(query).empty()) {
    for (absl::string_view clause : absl::StrSplit(query, " AND ")) {
      clause = absl::StripAsciiWhitespace(clause);
      std::string lower = absl::AsciiStrToLower(clause);
      size_t in = lower.find(" in ");
      size_t eq = clause.find('=');
      if (in != std::string::npos) {
        std::string field(absl::StripAsciiWhitespace(clause.substr(0, in)));
        absl::string_view list = absl::StripAsciiWhitespace(clause.substr(in + 4));
        list = absl::StripSuffix(absl::StripPrefix(list, "("), ")");
        if (field != "status") {
          return absl::InvalidArgumentError(
              absl::StrCat("unsupported search clause '", clause, "'"));
        }
        for (absl::string_view v : absl::StrSplit(list, ',')) {
          ASSIGN_OR_RETURN(int st, ParseWorkflowStatus(v));
          q.statuses.push_back(st);
        }
      } else if (eq != absl::string_view::npos) {
        std::string field(absl::StripAsciiWhitespace(clause.substr(0, eq)));
        std::string value = Unquote(clause.substr(eq + 1));
        if (field == "workflowType") {
          q.workflow_type = value;
        } else if (field == "status") {
          ASSIGN_OR_RETURN(int st, ParseWorkflowStatus(value));
          q.statuses.push_back(st);
        } else if (field == "correlationId") {
          q.correlation_id = value;
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("unsupported search field '", field,
                           "' (supported: workflowType, status, correlationId)"));
        }
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unsupported search clause '", clause, "'"));
      }
    }
  }
  return q;
}

}  // namespace cmig::orchestrator
