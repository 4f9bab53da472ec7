// Cron expressions as Conductor's scheduler reads them: six fields, seconds first
//
//   second minute hour day-of-month month day-of-week      "0 0 2 * * *" = every day at 02:00
//
// evaluated in a time zone. Each field is `*`, a value, a range `a-b`, a step `*/n`, `a/n` or
// `a-b/n`, or a comma-separated list of those; months and days of the week also by name (JAN,
// MON-FRI), days of the week 0-7 with 0 and 7 both Sunday. Day of month and day of week must
// both match; `?` stands for `*` in either. Day of month also takes `L` (the last day), `L-n`
// (n days before it), `nW` (the weekday nearest day n, within the month) and `LW` (the last
// weekday); day of week `dL` (the last such day of the month) and `d#n` (the n-th). The macros
// @yearly (@annually), @monthly, @weekly, @daily (@midnight) and @hourly stand for their
// six-field forms.
//
// Times are matched on the zone's local clock. A local time that a daylight-saving change skips
// does not occur, so a run due then is skipped; a local time that occurs twice runs once, at
// its first occurrence.
//
//   ASSIGN_OR_RETURN(CronExpression cron, CronExpression::Parse("0 30 6 * * MON-FRI"));
//   std::optional<absl::Time> next = cron.Next(absl::Now(), zone);
#ifndef CMIG_ORCHESTRATOR_CRON_H_
#define CMIG_ORCHESTRATOR_CRON_H_

#include <bitset>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace cmig::orchestrator {

// The time zone `zone_id` names ("Europe/Berlin"; empty = UTC). InvalidArgument for what is not
// a zone name (a path is never read) or names no zone this machine knows.
absl::StatusOr<absl::TimeZone> LoadZone(const std::string& zone_id);

class CronExpression {
 public:
  // InvalidArgument naming the field and the part of it that is wrong.
  static absl::StatusOr<CronExpression> Parse(absl::string_view text);

  // The first instant strictly after `after` whose local time in `zone` matches; nullopt when
  // none comes within the next five years (for example "0 0 0 30 2 *": February 30th).
  std::optional<absl::Time> Next(absl::Time after, const absl::TimeZone& zone) const;

  // Whether the local date `day` matches the day-of-month, month and day-of-week fields.
  bool MatchesDay(absl::CivilDay day) const;

  const std::string& text() const { return text_; }

 private:
  CronExpression() = default;

  std::string text_;
  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<13> months_;  // 1-12
  // Day of month: a set of days (1-31), or one of the special forms.
  std::bitset<32> days_;
  bool last_day_ = false;  // L or L-n: the last day minus last_day_offset_
  int last_day_offset_ = 0;
  int nearest_weekday_ = 0;    // nW: the weekday nearest day n (1-31); 0 = none
  bool last_weekday_ = false;  // LW
  // Day of week: a set (0 = Sunday ... 6), or `dL` / `d#n` for one weekday.
  std::bitset<7> weekdays_;
  int last_of_weekday_ = -1;  // dL: d (0-6), -1 = none
  int nth_weekday_ = -1;      // d#n: d (0-6) ...
  int nth_ = 0;               // ... and n (1-5)
};

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_CRON_H_
