// One file of `migrationctl definitions load` (and of the worker's own definitions): any text is
// loaded or refused with a message, never a crash.
#include "tests/fuzz/fuzz_input.h"
#include "workflows/registration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cmig::workflows::DefinitionSet set;
  absl::Status s = cmig::workflows::AddDefinitionsFile(cmig::fuzz::Text(data, size), "f.json", set);
  if (!s.ok() && s.message().empty()) cmig::fuzz::Violated();
  return 0;
}
