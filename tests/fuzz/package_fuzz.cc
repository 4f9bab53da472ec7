// A migration package from an untrusted file or request: parsing and validation never crash,
// and a package that validates keeps its digest through a write and a read.
#include "migration/package.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cmig::migration;  // NOLINT(google-build-using-namespace)
  absl::StatusOr<cmig::v1::MigrationPackage> package =
      PackageFromJson(cmig::fuzz::Text(data, size));
  if (!package.ok()) return 0;
  if (!ValidatePackage(*package).ok()) return 0;
  absl::StatusOr<std::string> json = PackageToJson(*package);
  if (!json.ok()) cmig::fuzz::Violated();
  absl::StatusOr<cmig::v1::MigrationPackage> again = PackageFromJson(*json);
  if (!again.ok() || !ValidatePackage(*again).ok() || again->digest() != package->digest()) {
    cmig::fuzz::Violated();
  }
  return 0;
}
