// Conductor's JSON dialect, both ways: any text converts or is refused, and a definition that
// converts has one canonical form (written, read back and written again, it is the same).
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

template <typename Def, typename Parse>
void RoundTrip(absl::string_view text, Parse parse) {
  absl::StatusOr<Def> def = parse(text);
  if (!def.ok()) return;
  const std::string canonical = cmig::CanonicalJson(*def);
  absl::StatusOr<Def> again = parse(canonical);
  if (!again.ok() || cmig::CanonicalJson(*again) != canonical) cmig::fuzz::Violated();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text = cmig::fuzz::Text(data, size);
  RoundTrip<conductor::proto::WorkflowDef>(
      text, [](absl::string_view t) { return cmig::ParseWorkflowDef(t); });
  RoundTrip<conductor::proto::TaskDef>(text,
                                       [](absl::string_view t) { return cmig::ParseTaskDef(t); });
  return 0;
}
