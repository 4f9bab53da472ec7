#include "orchestrator/cron.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cmig::orchestrator {
namespace {

// Far enough for any expression that matches at all: the rarest dates (February 29th on a
// given weekday) recur within 28 years, but nobody schedules those; five years covers leap days.
constexpr int kSearchDays = 5 * 366;

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct Field {
  const char* name;  // for messages: "second", "day-of-week", ...
  int min;
  int max;
  const char* const* names = nullptr;  // names[i] stands for min_name_value + i
  int name_count = 0;
  int min_name_value = 0;
};

constexpr Field kSecond{"second", 0, 59};
constexpr Field kMinute{"minute", 0, 59};
constexpr Field kHour{"hour", 0, 23};
constexpr Field kDayOfMonth{"day-of-month", 1, 31};
constexpr Field kMonth{"month", 1, 12, kMonthNames, 12, 1};
constexpr Field kDayOfWeek{"day-of-week", 0, 7, kDayNames, 7, 0};

absl::Status Bad(const Field& f, absl::string_view part, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("the ", f.name, " field '", part, "' ", why));
}

absl::StatusOr<int> Value(const Field& f, absl::string_view text, absl::string_view part) {
  int v = 0;
  if (absl::SimpleAtoi(text, &v)) {
    if (v < f.min || v > f.max) {
      return Bad(f, part, absl::StrCat("is out of range ", f.min, "-", f.max));
    }
    return v;
  }
  const std::string upper = absl::AsciiStrToUpper(text);
  for (int i = 0; i < f.name_count; ++i) {
    if (upper == f.names[i]) return f.min_name_value + i;
  }
  return Bad(f, part, f.name_count > 0 ? "is neither a number nor a name" : "is not a number");
}

// The values one comma-separated part of a field stands for: `*`, `a`, `a-b`, with an optional
// `/step`.
absl::StatusOr<std::vector<int>> Part(const Field& f, absl::string_view part) {
  std::pair<absl::string_view, absl::string_view> range_step =
      absl::StrSplit(part, absl::MaxSplits('/', 1));
  const bool has_step = part.find('/') != absl::string_view::npos;
  int step = 1;
  if (has_step && (!absl::SimpleAtoi(range_step.second, &step) || step < 1)) {
    return Bad(f, part, "has a step that is not a positive number");
  }
  int lo = f.min, hi = f.max;
  const absl::string_view range = range_step.first;
  if (range != "*" && range != "?") {
    std::pair<absl::string_view, absl::string_view> ends =
        absl::StrSplit(range, absl::MaxSplits('-', 1));
    if (ends.first.empty()) return Bad(f, part, "is empty");
    auto a = Value(f, ends.first, part);
    if (!a.ok()) return a.status();
    lo = *a;
    if (range.find('-') != absl::string_view::npos) {
      auto b = Value(f, ends.second, part);
      if (!b.ok()) return b.status();
      hi = *b;
      if (hi < lo) return Bad(f, part, "is a range whose end comes before its start");
    } else if (!has_step) {
      hi = lo;
    }
  }
  std::vector<int> out;
  for (int v = lo; v <= hi; v += step) out.push_back(v);
  return out;
}

// Every part of a plain field (no L, W or #).
template <size_t N>
absl::Status Plain(const Field& f, absl::string_view text, std::bitset<N>& set) {
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    if (part.empty()) return Bad(f, text, "has an empty list entry");
    if (part == "?" && f.name != kDayOfMonth.name && f.name != kDayOfWeek.name) {
      return Bad(f, part, "cannot be '?' (only day-of-month and day-of-week can)");
    }
    auto values = Part(f, part);
    if (!values.ok()) return values.status();
    for (int v : *values) set.set(v % static_cast<int>(N));
  }
  return absl::OkStatus();
}

// An IANA zone name ("Europe/Berlin", "Etc/GMT+5", "UTC"): letters, digits, '_', '-', '+'
// in '/'-separated parts. Nothing else reaches the zone loader, which reads a name starting with
// '/' as a path (a device or a pipe would stall the request).
bool IsZoneName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '+') {
        return false;
      }
    }
  }
  return true;
}

int WeekdayOf(absl::CivilDay day) {  // 0 = Sunday
  return (static_cast<int>(absl::GetWeekday(day)) + 1) % 7;
}

int DaysIn(absl::CivilDay day) {
  const absl::CivilMonth month(day);
  return static_cast<int>(absl::CivilDay(month + 1) - absl::CivilDay(month));
}

bool IsWeekday(absl::CivilDay day) {
  const int w = WeekdayOf(day);
  return w != 0 && w != 6;
}

}  // namespace

absl::StatusOr<absl::TimeZone> LoadZone(const std::string& zone_id) {
  absl::TimeZone zone;
  if (!zone_id.empty() && !IsZoneName(zone_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", zone_id, "' is not a time zone name (such as Europe/Berlin or UTC)"));
  }
  if (!absl::LoadTimeZone(zone_id.empty() ? "UTC" : zone_id, &zone)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown time zone '", zone_id, "'"));
  }
  return zone;
}

absl::StatusOr<CronExpression> CronExpression::Parse(absl::string_view text) {
  const absl::string_view given = absl::StripAsciiWhitespace(text);
  std::string expanded(given);
  if (absl::StartsWith(given, "@")) {
    static constexpr std::pair<const char*, const char*> kMacros[] = {
        {"@yearly", "0 0 0 1 1 *"}, {"@annually", "0 0 0 1 1 *"}, {"@monthly", "0 0 0 1 * *"},
        {"@weekly", "0 0 0 * * 0"}, {"@daily", "0 0 0 * * *"},    {"@midnight", "0 0 0 * * *"},
        {"@hourly", "0 0 * * * *"}};
    bool known = false;
    for (const auto& [macro, fields] : kMacros) {
      if (absl::EqualsIgnoreCase(given, macro)) {
        expanded = fields;
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cron expression '", given,
          "' is not one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"));
    }
  }
  std::vector<absl::string_view> fields =
      absl::StrSplit(expanded, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() != 6) {
    return absl::InvalidArgumentError(
        absl::StrCat("cron expression '", given, "' has ", fields.size(),
                     " fields; it needs six: second minute hour day-of-month month day-of-week"));
  }
  CronExpression c;
  c.text_ = std::string(given);
  auto fail = [&](const absl::Status& s) {
    return absl::InvalidArgumentError(absl::StrCat("cron expression '", given, "': ", s.message()));
  };
  if (absl::Status s = Plain(kSecond, fields[0], c.seconds_); !s.ok()) return fail(s);
  if (absl::Status s = Plain(kMinute, fields[1], c.minutes_); !s.ok()) return fail(s);
  if (absl::Status s = Plain(kHour, fields[2], c.hours_); !s.ok()) return fail(s);
  if (absl::Status s = Plain(kMonth, fields[4], c.months_); !s.ok()) return fail(s);

  // Day of month: L, L-n, LW, nW, or a plain field.
  const std::string dom = absl::AsciiStrToUpper(fields[3]);
  if (dom == "L" || absl::StartsWith(dom, "L-")) {
    c.last_day_ = true;
    if (dom.size() > 1 &&
        (!absl::SimpleAtoi(absl::string_view(dom).substr(2), &c.last_day_offset_) ||
         c.last_day_offset_ < 0 || c.last_day_offset_ > 30)) {
      return fail(Bad(kDayOfMonth, fields[3], "must be L-n with n from 0 to 30"));
    }
  } else if (dom == "LW") {
    c.last_weekday_ = true;
  } else if (absl::EndsWith(dom, "W")) {
    auto day = Value(kDayOfMonth, absl::string_view(dom).substr(0, dom.size() - 1), fields[3]);
    if (!day.ok()) return fail(day.status());
    c.nearest_weekday_ = *day;
  } else if (absl::Status s = Plain(kDayOfMonth, fields[3], c.days_); !s.ok()) {
    return fail(s);
  }

  // Day of week: dL, d#n, or a plain field (7 is Sunday too).
  const std::string dow = absl::AsciiStrToUpper(fields[5]);
  if (const size_t hash = dow.find('#'); hash != std::string::npos) {
    auto day = Value(kDayOfWeek, absl::string_view(dow).substr(0, hash), fields[5]);
    if (!day.ok()) return fail(day.status());
    if (!absl::SimpleAtoi(absl::string_view(dow).substr(hash + 1), &c.nth_) || c.nth_ < 1 ||
        c.nth_ > 5) {
      return fail(Bad(kDayOfWeek, fields[5], "must be d#n with n from 1 to 5"));
    }
    c.nth_weekday_ = *day % 7;
  } else if (dow.size() > 1 && absl::EndsWith(dow, "L")) {
    auto day = Value(kDayOfWeek, absl::string_view(dow).substr(0, dow.size() - 1), fields[5]);
    if (!day.ok()) return fail(day.status());
    c.last_of_weekday_ = *day % 7;
  } else {
    std::bitset<8> days;  // 0-7
    if (absl::Status s = Plain(kDayOfWeek, fields[5], days); !s.ok()) return fail(s);
    for (int d = 0; d < 7; ++d) c.weekdays_[d] = days[d] || (d == 0 && days[7]);
  }
  return c;
}

bool CronExpression::MatchesDay(absl::CivilDay day) const {
  if (!months_[day.month()]) return false;
  const int days_in_month = DaysIn(day);
  const int dom = day.day();
  if (last_day_) {
    if (dom != days_in_month - last_day_offset_) return false;
  } else if (last_weekday_) {
    absl::CivilDay last = absl::CivilDay(absl::CivilMonth(day) + 1) - 1;
    while (!IsWeekday(last)) --last;
    if (day != last) return false;
  } else if (nearest_weekday_ > 0) {
    if (nearest_weekday_ > days_in_month) return false;
    absl::CivilDay target(day.year(), day.month(), nearest_weekday_);
    const int w = WeekdayOf(target);
    if (w == 6) target += nearest_weekday_ == 1 ? 2 : -1;  // Saturday: Friday, or Monday on the 1st
    if (w == 0) target += nearest_weekday_ == days_in_month ? -2 : 1;  // Sunday: Monday, or Friday
    if (day != target) return false;
  } else if (!days_[dom]) {
    return false;
  }
  const int w = WeekdayOf(day);
  if (last_of_weekday_ >= 0) return w == last_of_weekday_ && dom + 7 > days_in_month;
  if (nth_weekday_ >= 0) return w == nth_weekday_ && (dom - 1) / 7 + 1 == nth_;
  return weekdays_[w];
}

std::optional<absl::Time> CronExpression::Next(absl::Time after, const absl::TimeZone& zone) const {
  // The first whole second after `after`, on the local clock.
  const absl::Time from = absl::FromUnixSeconds(absl::ToUnixSeconds(after)) + absl::Seconds(1);
  const absl::CivilSecond start = absl::ToCivilSecond(from, zone);
  absl::CivilDay day(start);
  for (int i = 0; i < kSearchDays; ++i, ++day) {
    if (!MatchesDay(day)) continue;
    const bool first_day = i == 0;
    for (int h = first_day ? start.hour() : 0; h < 24; ++h) {
      if (!hours_[h]) continue;
      const bool first_hour = first_day && h == start.hour();
      for (int m = first_hour ? start.minute() : 0; m < 60; ++m) {
        if (!minutes_[m]) continue;
        const bool first_minute = first_hour && m == start.minute();
        for (int s = first_minute ? start.second() : 0; s < 60; ++s) {
          if (!seconds_[s]) continue;
          const absl::TimeZone::TimeInfo at =
              zone.At(absl::CivilSecond(day.year(), day.month(), day.day(), h, m, s));
          // A skipped local time does not occur; a repeated one counts at its first occurrence.
          if (at.kind == absl::TimeZone::TimeInfo::SKIPPED) continue;
          if (at.pre > after) return at.pre;
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace cmig::orchestrator
