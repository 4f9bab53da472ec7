// Cron expressions as Conductor's scheduler reads them: the six fields, names, ranges, steps, the
// special day forms, macros, time zones and daylight-saving changes, and the errors.
#include "orchestrator/cron.h"

#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig::orchestrator {
namespace {

using ::cmig::testing::StatusIs;
using ::testing::HasSubstr;

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone z;
  EXPECT_TRUE(absl::LoadTimeZone(name, &z)) << name;
  return z;
}

absl::Time At(const std::string& zone, int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), Zone(zone));
}

// The next `n` runs after `from`, as local times in `zone` ("2026-03-08T06:00:00").
std::vector<std::string> Runs(const std::string& cron, const std::string& zone, absl::Time from,
                              int n) {
  absl::StatusOr<CronExpression> c = CronExpression::Parse(cron);
  EXPECT_TRUE(c.ok()) << c.status();
  std::vector<std::string> out;
  if (!c.ok()) return out;
  const absl::TimeZone z = Zone(zone);
  for (int i = 0; i < n; ++i) {
    std::optional<absl::Time> next = c->Next(from, z);
    if (!next) break;
    out.push_back(absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", *next, z));
    from = *next;
  }
  return out;
}

TEST(CronTest, FieldsRangesStepsAndLists) {
  const absl::Time from = At("UTC", 2026, 12, 6, 10, 0, 0);  // a Sunday
  EXPECT_EQ(Runs("*/20 * * * * *", "UTC", from, 3),
            (std::vector<std::string>{"2026-12-06T10:00:20+00:00", "2026-12-06T10:00:40+00:00",
                                      "2026-12-06T10:01:00+00:00"}));
  EXPECT_EQ(Runs("0 0 2 * * *", "UTC", from, 2),
            (std::vector<std::string>{"2026-12-07T02:00:00+00:00", "2026-12-08T02:00:00+00:00"}));
  EXPECT_EQ(Runs("0 15,45 9-10 * * *", "UTC", from, 3),
            (std::vector<std::string>{"2026-12-06T10:15:00+00:00", "2026-12-06T10:45:00+00:00",
                                      "2026-12-07T09:15:00+00:00"}));
  EXPECT_EQ(Runs("0 0 8 * * MON-FRI", "UTC", from, 2),
            (std::vector<std::string>{"2026-12-07T08:00:00+00:00", "2026-12-08T08:00:00+00:00"}));
  EXPECT_EQ(Runs("30 5/20 * * * *", "UTC", from, 3),
            (std::vector<std::string>{"2026-12-06T10:05:30+00:00", "2026-12-06T10:25:30+00:00",
                                      "2026-12-06T10:45:30+00:00"}));
  // Names in any case; 0 and 7 are both Sunday; `?` is `*`.
  EXPECT_EQ(Runs("0 0 0 1 jan,Jul ?", "UTC", from, 2),
            (std::vector<std::string>{"2027-01-01T00:00:00+00:00", "2027-07-01T00:00:00+00:00"}));
  EXPECT_EQ(Runs("0 0 12 ? * 7", "UTC", from, 1), Runs("0 0 12 ? * 0", "UTC", from, 1));
  EXPECT_EQ(Runs("0 0 12 ? * 5-7", "UTC", from, 3),
            (std::vector<std::string>{"2026-12-06T12:00:00+00:00", "2026-12-11T12:00:00+00:00",
                                      "2026-12-12T12:00:00+00:00"}));
  // Day of month and day of week must both match: Friday the 13th.
  EXPECT_EQ(Runs("0 0 0 13 * FRI", "UTC", from, 2),
            (std::vector<std::string>{"2027-08-13T00:00:00+00:00", "2028-10-13T00:00:00+00:00"}));
}

TEST(CronTest, RunsAreStrictlyAfterTheGivenTime) {
  const absl::Time exactly = At("UTC", 2026, 12, 6, 2, 0, 0);
  EXPECT_EQ(Runs("0 0 2 * * *", "UTC", exactly, 1),
            (std::vector<std::string>{"2026-12-07T02:00:00+00:00"}));
  EXPECT_EQ(Runs("0 0 2 * * *", "UTC", exactly - absl::Milliseconds(1), 1),
            (std::vector<std::string>{"2026-12-06T02:00:00+00:00"}));
}

TEST(CronTest, SpecialDaysOfMonthAndWeek) {
  const absl::Time from = At("UTC", 2027, 1, 1, 0, 0, 0);
  EXPECT_EQ(Runs("0 0 0 L * *", "UTC", from, 3),
            (std::vector<std::string>{"2027-01-31T00:00:00+00:00", "2027-02-28T00:00:00+00:00",
                                      "2027-03-31T00:00:00+00:00"}));
  EXPECT_EQ(Runs("0 0 0 L-2 2 *", "UTC", from, 2),
            (std::vector<std::string>{"2027-02-26T00:00:00+00:00", "2028-02-27T00:00:00+00:00"}));
  // The last weekday: January 2027 ends on a Sunday, July 2027 on a Saturday.
  EXPECT_EQ(Runs("0 0 0 LW 1,7 *", "UTC", from, 2),
            (std::vector<std::string>{"2027-01-29T00:00:00+00:00", "2027-07-30T00:00:00+00:00"}));
  // Nearest weekday: May 15th 2027 is a Saturday (-> Friday 14th), the 1st of May a Saturday
  // (-> Monday 3rd, within the month), August 15th a Sunday (-> Monday 16th).
  EXPECT_EQ(Runs("0 0 0 15W 5,8 *", "UTC", from, 2),
            (std::vector<std::string>{"2027-05-14T00:00:00+00:00", "2027-08-16T00:00:00+00:00"}));
  EXPECT_EQ(Runs("0 0 0 1W 5 *", "UTC", from, 1),
            (std::vector<std::string>{"2027-05-03T00:00:00+00:00"}));
  // The last Friday, the second Tuesday.
  EXPECT_EQ(Runs("0 0 0 ? * 5L", "UTC", from, 2),
            (std::vector<std::string>{"2027-01-29T00:00:00+00:00", "2027-02-26T00:00:00+00:00"}));
  EXPECT_EQ(Runs("0 0 0 ? * TUE#2", "UTC", from, 2),
            (std::vector<std::string>{"2027-01-12T00:00:00+00:00", "2027-02-09T00:00:00+00:00"}));
  // February 29th: only in leap years; February 30th: never.
  EXPECT_EQ(Runs("0 0 0 29 2 *", "UTC", from, 1),
            (std::vector<std::string>{"2028-02-29T00:00:00+00:00"}));
  EXPECT_TRUE(Runs("0 0 0 30 2 *", "UTC", from, 1).empty());
}

TEST(CronTest, Macros) {
  const absl::Time from = At("UTC", 2026, 12, 6, 10, 0, 0);
  EXPECT_EQ(Runs("@daily", "UTC", from, 1), Runs("0 0 0 * * *", "UTC", from, 1));
  EXPECT_EQ(Runs("@midnight", "UTC", from, 1), Runs("0 0 0 * * *", "UTC", from, 1));
  EXPECT_EQ(Runs("@HOURLY", "UTC", from, 1),
            (std::vector<std::string>{"2026-12-06T11:00:00+00:00"}));
  EXPECT_EQ(Runs("@weekly", "UTC", from, 1),
            (std::vector<std::string>{"2026-12-13T00:00:00+00:00"}));
  EXPECT_EQ(Runs("@monthly", "UTC", from, 1),
            (std::vector<std::string>{"2027-01-01T00:00:00+00:00"}));
  EXPECT_EQ(Runs("@yearly", "UTC", from, 1), Runs("@annually", "UTC", from, 1));
}

TEST(CronTest, LocalTimeInAZoneAcrossDaylightSavingChanges) {
  // Berlin: clocks go from 02:00 to 03:00 on 2027-03-28 and from 03:00 back to 02:00 on
  // 2027-10-31. A daily 06:00 stays 06:00 local on both sides of each change.
  EXPECT_EQ(Runs("0 0 6 * * *", "Europe/Berlin", At("Europe/Berlin", 2027, 3, 27, 7, 0, 0), 2),
            (std::vector<std::string>{"2027-03-28T06:00:00+02:00", "2027-03-29T06:00:00+02:00"}));
  EXPECT_EQ(Runs("0 0 6 * * *", "Europe/Berlin", At("Europe/Berlin", 2027, 10, 30, 7, 0, 0), 2),
            (std::vector<std::string>{"2027-10-31T06:00:00+01:00", "2027-11-01T06:00:00+01:00"}));
  // 02:30 does not exist on the day clocks go forward: that day's run is skipped.
  EXPECT_EQ(Runs("0 30 2 * * *", "Europe/Berlin", At("Europe/Berlin", 2027, 3, 27, 1, 0, 0), 2),
            (std::vector<std::string>{"2027-03-27T02:30:00+01:00", "2027-03-29T02:30:00+02:00"}));
  // 02:30 happens twice on the day clocks go back: it runs once, at the first.
  EXPECT_EQ(Runs("0 30 2 * * *", "Europe/Berlin", At("Europe/Berlin", 2027, 10, 30, 3, 0, 0), 2),
            (std::vector<std::string>{"2027-10-31T02:30:00+02:00", "2027-11-01T02:30:00+01:00"}));
  // Every 30 minutes through the night clocks go forward: 02:00 and 02:30 do not occur.
  EXPECT_EQ(Runs("0 */30 * * * *", "Europe/Berlin", At("Europe/Berlin", 2027, 3, 28, 1, 0, 0), 3),
            (std::vector<std::string>{"2027-03-28T01:30:00+01:00", "2027-03-28T03:00:00+02:00",
                                      "2027-03-28T03:30:00+02:00"}));
  // The same instant is a different local time elsewhere.
  EXPECT_EQ(Runs("0 0 2 * * *", "America/New_York", At("UTC", 2026, 12, 6, 0, 0, 0), 1),
            (std::vector<std::string>{"2026-12-06T02:00:00-05:00"}));
}

TEST(CronTest, ErrorsNameTheFieldAndWhatIsWrong) {
  auto error = [](const std::string& cron) {
    absl::StatusOr<CronExpression> c = CronExpression::Parse(cron);
    EXPECT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_)) << cron;
    return c.ok() ? std::string() : std::string(c.status().message());
  };
  EXPECT_THAT(error("0 0 2 * *"), HasSubstr("has 5 fields; it needs six: second minute hour"));
  EXPECT_THAT(error("0 0 24 * * *"), HasSubstr("the hour field '24' is out of range 0-23"));
  EXPECT_THAT(error("60 * * * * *"), HasSubstr("the second field '60' is out of range 0-59"));
  EXPECT_THAT(error("0 0 0 0 * *"), HasSubstr("day-of-month field '0' is out of range 1-31"));
  EXPECT_THAT(error("0 0 0 * FOO *"), HasSubstr("month field 'FOO' is neither a number nor"));
  EXPECT_THAT(error("0 0 0 * * 8"), HasSubstr("day-of-week field '8' is out of range 0-7"));
  EXPECT_THAT(error("0 0 10-2 * * *"), HasSubstr("end comes before its start"));
  EXPECT_THAT(error("*/0 * * * * *"), HasSubstr("step that is not a positive number"));
  EXPECT_THAT(error("0 0 0 1,,2 * *"), HasSubstr("has an empty list entry"));
  EXPECT_THAT(error("? * * * * *"), HasSubstr("cannot be '?'"));
  EXPECT_THAT(error("0 0 0 L-31 * *"), HasSubstr("must be L-n with n from 0 to 30"));
  EXPECT_THAT(error("0 0 0 ? * MON#6"), HasSubstr("must be d#n with n from 1 to 5"));
  EXPECT_THAT(error("@sometimes"), HasSubstr("is not one of @yearly"));
  EXPECT_THAT(error("0 0 x * * *"), HasSubstr("cron expression '0 0 x * * *': the hour field"));
  EXPECT_THAT(error(""), HasSubstr("has 0 fields"));
}

}  // namespace
}  // namespace cmig::orchestrator
