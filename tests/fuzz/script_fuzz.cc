// The JavaScript subset of SWITCH, DO_WHILE and INLINE: the expression (before the NUL) and its
// input (JSON after it). It evaluates or fails with InvalidArgument or FailedPrecondition only.
#include "definitions/json.h"
#include "orchestrator/script.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [expression, input_text] = cmig::fuzz::SplitAtNul(cmig::fuzz::Text(data, size));
  google::protobuf::Value input;
  if (absl::StatusOr<google::protobuf::Value> parsed = cmig::ParseJson(input_text); parsed.ok()) {
    input = *std::move(parsed);
  }
  absl::StatusOr<cmig::orchestrator::ScriptValue> v =
      cmig::orchestrator::EvaluateScript(expression, input);
  if (!v.ok() && !absl::IsInvalidArgument(v.status()) && !absl::IsFailedPrecondition(v.status())) {
    cmig::fuzz::Violated();
  }
  // A script that evaluates passed the syntax check.
  if (v.ok() && !cmig::orchestrator::CheckScriptSyntax(expression).ok()) cmig::fuzz::Violated();
  return 0;
}
