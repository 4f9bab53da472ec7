#include "definitions/message_value.h"

#include "base/status_matchers.h"
#include "cmig/v1/report.pb.h"
#include "definitions/conductor_time.h"
#include "definitions/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig {
namespace {

using ::testing::HasSubstr;

TEST(MessageValueTest, RoundTripsThroughAValue) {
  v1::MigrationReport report;
  report.set_source_environment("dev");
  report.set_package_digest("abc");
  absl::StatusOr<google::protobuf::Value> v = MessageToValue(report);
  ASSERT_OK(v.status());
  // protobuf's JSON names, not the proto field names.
  EXPECT_EQ(v->struct_value().fields().at("sourceEnvironment").string_value(), "dev");
  v1::MigrationReport back;
  ASSERT_OK(MessageFromValue(*v, &back));
  EXPECT_EQ(back.SerializeAsString(), report.SerializeAsString());
}

TEST(MessageValueTest, UnknownFieldsAreAnErrorUnlessIgnored) {
  absl::StatusOr<google::protobuf::Value> v = ParseJson(R"({"sourceEnvironment":"dev","x":1})");
  ASSERT_OK(v.status());
  v1::MigrationReport r;
  EXPECT_THAT(MessageFromValue(*v, &r),
              cmig::testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x")));
  ASSERT_OK(MessageFromValue(*v, &r, /*ignore_unknown_fields=*/true));
  EXPECT_EQ(r.source_environment(), "dev");
}

TEST(MessageValueTest, ReadingClearsTheMessageFirst) {
  v1::MigrationReport r;
  r.set_package_digest("stale");
  ASSERT_OK(MessageFromJson(R"({"sourceEnvironment":"dev"})", &r));
  EXPECT_EQ(r.package_digest(), "");
}

TEST(ConductorTimeTest, FormatsAndParsesMilliseconds) {
  EXPECT_EQ(FormatConductorTime(0), "");
  EXPECT_EQ(FormatConductorTime(1764898440123), "2025-12-05T01:34:00.123Z");
  EXPECT_EQ(ParseConductorTime("2025-12-05T01:34:00.123Z"), 1764898440123);
  EXPECT_EQ(ParseConductorTime("yesterday"), std::nullopt);
}

TEST(JsonNumberTest, ShortestFormThatReadsBack) {
  EXPECT_EQ(FormatFiniteNumber(3), "3");
  EXPECT_EQ(FormatFiniteNumber(-0.0), "0");
  EXPECT_EQ(FormatFiniteNumber(0.1), "0.1");
  EXPECT_EQ(FormatFiniteNumber(1.0 / 3), "0.3333333333333333");
}

}  // namespace
}  // namespace cmig
