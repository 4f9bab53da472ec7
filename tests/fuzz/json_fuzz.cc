// The JSON reader behind every request body, package and definition file: any bytes parse or are
// refused; what parses writes out as JSON that reads back to the same text.
#include "definitions/json.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<google::protobuf::Value> v = cmig::ParseJson(cmig::fuzz::Text(data, size));
  if (!v.ok()) return 0;
  const std::string written = cmig::WriteJson(*v);
  absl::StatusOr<google::protobuf::Value> again = cmig::ParseJson(written);
  if (!again.ok() || cmig::WriteJson(*again) != written) cmig::fuzz::Violated();
  return 0;
}
