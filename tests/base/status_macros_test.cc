#include "base/status_macros.h"

#include <gtest/gtest.h>

#include "base/grpc_status.h"
#include "base/status_matchers.h"

namespace cmig {
namespace {

using ::cmig::testing::IsOk;
using ::cmig::testing::IsOkAndHolds;
using ::cmig::testing::StatusIs;
using ::testing::HasSubstr;

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int x, int* calls) {
  ++*calls;
  RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacros, AssignOrReturnPropagatesFirstError) {
  EXPECT_THAT(Quarter(8), IsOkAndHolds(2));
  EXPECT_THAT(Quarter(6), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("odd")));
}

TEST(StatusMacros, ReturnIfErrorEvaluatesOnce) {
  int calls = 0;
  EXPECT_THAT(CheckEven(4, &calls), IsOk());
  EXPECT_THAT(CheckEven(3, &calls), StatusIs(absl::StatusCode::kInvalidArgument, "odd"));
  EXPECT_EQ(calls, 2);
}

TEST(GrpcStatus, CodesSurviveTheRoundTrip) {
  absl::Status s = absl::UnavailableError("down");
  ::grpc::Status g = ToGrpc(s);
  EXPECT_EQ(g.error_code(), ::grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(FromGrpc(g, "poll at 127.0.0.1:1"),
              StatusIs(absl::StatusCode::kUnavailable, "poll at 127.0.0.1:1: down"));
  EXPECT_THAT(FromGrpc(::grpc::Status::OK, "x"), IsOk());
}

}  // namespace
}  // namespace cmig
