#include "schedule/time_zone.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/test_util.h"

namespace larder::schedule {
namespace {

constexpr int64_t kHour = 3600;
constexpr const char* kZoneDir = "/usr/share/zoneinfo";

// Seconds since the epoch of a UTC (or, read as local, wall) time.
int64_t At(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{mo} /
                                  std::chrono::day{d}};
  return (day.time_since_epoch().count() * 24 + h) * kHour + mi * 60;
}

int64_t Offset(const TimeZone& z, int64_t utc_seconds) {
  return z.OffsetSeconds(utc_seconds * Duration::kSecond);
}

// Sets TZDIR for its lifetime, then restores it.
class ScopedTzdir {
 public:
  explicit ScopedTzdir(const std::string& dir) {
    if (const char* old = std::getenv("TZDIR")) old_ = old;
    setenv("TZDIR", dir.c_str(), 1);
  }
  ~ScopedTzdir() {
    if (old_) {
      setenv("TZDIR", old_->c_str(), 1);
    } else {
      unsetenv("TZDIR");
    }
  }

 private:
  std::optional<std::string> old_;
};

TimeZone MustLoad(const std::string& name) {
  auto z = TimeZone::Load(name);
  EXPECT_TRUE(z.ok()) << name << ": " << z.status().ToString();
  return z.ok() ? *z : TimeZone::Utc();
}

TEST(TimeZone, UtcIsBuiltIn) {
  larder::testing::TempDir empty;
  ScopedTzdir tzdir(empty.path());
  for (const char* name : {"UTC", "Etc/UTC"}) {
    auto z = TimeZone::Load(name);
    ASSERT_TRUE(z.ok()) << name << ": " << z.status().ToString();
    EXPECT_EQ(z->name(), name);
    EXPECT_EQ(Offset(*z, At(2026, 7, 1)), 0);
    EXPECT_EQ(z->LocalToUtc(At(2026, 3, 8, 2, 30)), std::vector<int64_t>{At(2026, 3, 8, 2, 30)});
  }
  // Any other zone comes from TZDIR, which is empty here.
  EXPECT_EQ(TimeZone::Load("Europe/Berlin").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(TimeZone::Utc().name(), "UTC");
}

TEST(TimeZone, OffsetsFollowBerlinAndNewYorkTransitions) {
  const TimeZone berlin = MustLoad("Europe/Berlin");
  EXPECT_EQ(berlin.name(), "Europe/Berlin");
  // CET -> CEST at 01:00 UTC on 2026-03-29, back at 01:00 UTC on 2026-10-25.
  EXPECT_EQ(Offset(berlin, At(2026, 3, 29, 1) - 1), kHour);
  EXPECT_EQ(Offset(berlin, At(2026, 3, 29, 1)), 2 * kHour);
  EXPECT_EQ(Offset(berlin, At(2026, 10, 25, 1) - 1), 2 * kHour);
  EXPECT_EQ(Offset(berlin, At(2026, 10, 25, 1)), kHour);
  // Micros: the second containing the instant.
  EXPECT_EQ(berlin.OffsetSeconds(At(2026, 3, 29, 1) * Duration::kSecond - 1), kHour);
  const TimeZone ny = MustLoad("America/New_York");
  // EST -> EDT at 07:00 UTC on 2026-03-08, back at 06:00 UTC on 2026-11-01.
  EXPECT_EQ(Offset(ny, At(2026, 3, 8, 7) - 1), -5 * kHour);
  EXPECT_EQ(Offset(ny, At(2026, 3, 8, 7)), -4 * kHour);
  EXPECT_EQ(Offset(ny, At(2026, 11, 1, 6) - 1), -4 * kHour);
  EXPECT_EQ(Offset(ny, At(2026, 11, 1, 6)), -5 * kHour);
  // Before railway time (1883): local mean time, -4:56:02.
  EXPECT_EQ(Offset(ny, At(1850, 1, 1)), -(4 * kHour + 56 * 60 + 2));
}

TEST(TimeZone, KolkataIsFiveAndAHalfHoursAhead) {
  const TimeZone kolkata = MustLoad("Asia/Kolkata");
  const int64_t ist = 5 * kHour + 30 * 60;
  EXPECT_EQ(Offset(kolkata, At(2026, 1, 15)), ist);
  EXPECT_EQ(Offset(kolkata, At(2040, 7, 1)), ist);  // the footer "IST-5:30"
  EXPECT_EQ(kolkata.LocalToUtc(At(2026, 1, 15, 0)), std::vector<int64_t>{At(2026, 1, 14, 18, 30)});
}

TEST(TimeZone, LocalTimesInGapsHaveNoInstantAndInFoldsTwo) {
  const TimeZone ny = MustLoad("America/New_York");
  // 02:30 on 2026-03-08 is skipped: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
  EXPECT_TRUE(ny.LocalToUtc(At(2026, 3, 8, 2, 30)).empty());
  EXPECT_EQ(ny.FirstUtcAtOrAfterLocal(At(2026, 3, 8, 2, 30)), At(2026, 3, 8, 7));
  EXPECT_EQ(ny.FirstUtcAtOrAfterLocal(At(2026, 3, 8, 2)), At(2026, 3, 8, 7));
  EXPECT_EQ(ny.LocalToUtc(At(2026, 3, 8, 3)), std::vector<int64_t>{At(2026, 3, 8, 7)});
  EXPECT_EQ(ny.LocalToUtc(At(2026, 3, 8, 1, 59)), std::vector<int64_t>{At(2026, 3, 8, 6, 59)});
  // 01:30 on 2026-11-01 happens twice: 01:30 EDT (05:30 UTC), 01:30 EST.
  const std::vector<int64_t> fold{At(2026, 11, 1, 5, 30), At(2026, 11, 1, 6, 30)};
  EXPECT_EQ(ny.LocalToUtc(At(2026, 11, 1, 1, 30)), fold);
  EXPECT_EQ(ny.FirstUtcAtOrAfterLocal(At(2026, 11, 1, 1, 30)), fold[0]);
  EXPECT_EQ(ny.LocalToUtc(At(2026, 11, 1, 2)), std::vector<int64_t>{At(2026, 11, 1, 7)});
  EXPECT_EQ(ny.LocalToUtc(At(2026, 11, 1, 0, 59)), std::vector<int64_t>{At(2026, 11, 1, 4, 59)});
}

// A TZif v2 file with no transitions, one time type and `footer`.
std::string Tzif(const std::string& footer) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  std::string header = std::string("TZif2") + std::string(15, '\0');
  for (uint32_t count : {0u, 0u, 0u, 0u, 1u, 4u}) header += be32(count);
  const std::string block = be32(0) + std::string{0, 0} + std::string("UTC\0", 4);
  return header + block + header + block + "\n" + footer + "\n";
}

// The transition tables end in 2037; later years come from the footer.
TEST(TimeZone, FooterRuleGivesYearsPastTheTable) {
  const TimeZone berlin = MustLoad("Europe/Berlin");  // CET-1CEST,M3.5.0,M10.5.0/3
  EXPECT_EQ(Offset(berlin, At(2040, 1, 10)), kHour);
  EXPECT_EQ(Offset(berlin, At(2040, 3, 25, 1) - 1), kHour);  // last Sunday of March
  EXPECT_EQ(Offset(berlin, At(2040, 3, 25, 1)), 2 * kHour);
  EXPECT_EQ(Offset(berlin, At(2040, 10, 28, 1) - 1), 2 * kHour);  // last Sunday of October
  EXPECT_EQ(Offset(berlin, At(2040, 10, 28, 1)), kHour);
  const TimeZone ny = MustLoad("America/New_York");           // EST5EDT,M3.2.0,M11.1.0
  EXPECT_EQ(Offset(ny, At(2040, 3, 11, 7) - 1), -5 * kHour);  // second Sunday of March
  EXPECT_EQ(Offset(ny, At(2040, 3, 11, 7)), -4 * kHour);
  EXPECT_EQ(Offset(ny, At(2040, 11, 4, 6) - 1), -4 * kHour);  // first Sunday of November
  EXPECT_EQ(Offset(ny, At(2040, 11, 4, 6)), -5 * kHour);
  EXPECT_TRUE(ny.LocalToUtc(At(2040, 3, 11, 2, 30)).empty());
  EXPECT_EQ(ny.LocalToUtc(At(2040, 11, 4, 1, 30)).size(), 2u);
  // Southern hemisphere, DST over the new year: AEST-10AEDT,M10.1.0,M4.1.0/3.
  const TimeZone sydney = MustLoad("Australia/Sydney");
  EXPECT_EQ(Offset(sydney, At(2040, 1, 1)), 11 * kHour);
  EXPECT_EQ(Offset(sydney, At(2040, 6, 1)), 10 * kHour);
  EXPECT_EQ(Offset(sydney, At(2040, 3, 31, 16) - 1), 11 * kHour);  // 03:00 AEDT, Apr 1
  EXPECT_EQ(Offset(sydney, At(2040, 3, 31, 16)), 10 * kHour);
  EXPECT_EQ(Offset(sydney, At(2040, 10, 6, 16) - 1), 10 * kHour);  // 02:00 AEST, Oct 7
  EXPECT_EQ(Offset(sydney, At(2040, 10, 6, 16)), 11 * kHour);
  // The footer alone gives the same offsets as the table for the years
  // the EU rule has held (1996 on).
  auto rule_only = TimeZone::FromTzif("Rule/Berlin", Tzif("CET-1CEST,M3.5.0,M10.5.0/3"));
  ASSERT_TRUE(rule_only.ok()) << rule_only.status().ToString();
  for (int64_t t = At(1996, 1, 1); t < At(2037, 12, 31); t += 7 * kHour + 13) {
    ASSERT_EQ(Offset(*rule_only, t), Offset(berlin, t)) << t;
  }
}

TEST(TimeZone, PosixFooterForms) {
  auto zone = [](const std::string& footer) {
    auto z = TimeZone::FromTzif("Test/Zone", Tzif(footer));
    EXPECT_TRUE(z.ok()) << footer << ": " << z.status().ToString();
    return z.ok() ? *z : TimeZone::Utc();
  };
  EXPECT_EQ(Offset(zone("<+0330>-3:30"), At(2040, 6, 1)), 3 * kHour + 30 * 60);
  EXPECT_EQ(Offset(zone("<-0230>2:30"), At(2040, 6, 1)), -(2 * kHour + 30 * 60));
  const TimeZone us = zone("EST5EDT,M3.2.0,M11.1.0");
  EXPECT_EQ(Offset(us, At(2026, 3, 8, 7) - 1), -5 * kHour);
  EXPECT_EQ(Offset(us, At(2026, 3, 8, 7)), -4 * kHour);
  EXPECT_EQ(Offset(us, At(2026, 11, 1, 6)), -5 * kHour);
  // Jn counts days 1..365 and never Feb 29: J60 is March 1, leap year or
  // not. n counts from 0 and does count Feb 29: 59 is Feb 29 in 2040.
  const TimeZone julian = zone("AAA0BBB,J60/0,J300/0");
  EXPECT_EQ(Offset(julian, At(2040, 3, 1) - 1), 0);
  EXPECT_EQ(Offset(julian, At(2040, 3, 1)), kHour);
  EXPECT_EQ(Offset(julian, At(2041, 3, 1) - 1), 0);
  EXPECT_EQ(Offset(julian, At(2041, 3, 1)), kHour);
  const TimeZone zero_based = zone("AAA0BBB-2,59/0,299/0");
  EXPECT_EQ(Offset(zero_based, At(2040, 2, 29) - 1), 0);
  EXPECT_EQ(Offset(zero_based, At(2040, 2, 29)), 2 * kHour);  // DST offset given
  EXPECT_EQ(Offset(zero_based, At(2041, 3, 1) - 1), 0);
  EXPECT_EQ(Offset(zero_based, At(2041, 3, 1)), 2 * kHour);
  // Times past 24 h and negative (RFC 8536): -1 h on Saturday is 23:00 Friday.
  const TimeZone extended = zone("AAA0BBB,M3.5.6/-1,M10.5.0/26");
  EXPECT_EQ(Offset(extended, At(2040, 3, 30, 23) - 1), 0);  // last Saturday: Mar 31
  EXPECT_EQ(Offset(extended, At(2040, 3, 30, 23)), kHour);
  EXPECT_EQ(Offset(extended, At(2040, 10, 29, 1) - 1), kHour);  // Oct 28, 26:00 BBB
  EXPECT_EQ(Offset(extended, At(2040, 10, 29, 1)), 0);
  for (const char* bad : {"EST", "EST5EDT", "EST5EDT,M3.2.0", "EST5EDT,M13.1.0,M11.1.0",
                          "EST5EDT,M3.6.0,M11.1.0", "<+03>", "EST5x", "ES5", "EST25"}) {
    auto z = TimeZone::FromTzif("Test/Zone", Tzif(bad));
    ASSERT_FALSE(z.ok()) << bad;
    EXPECT_EQ(z.status().code(), StatusCode::kCorruption) << bad;
    EXPECT_NE(z.status().message().find("footer TZ string `" + std::string(bad) + "`"),
              std::string::npos)
        << z.status().ToString();
  }
  // A v1 file has no footer; an empty footer means no rule.
  EXPECT_TRUE(TimeZone::FromTzif("Test/Zone", Tzif("")).ok());
}

TEST(TimeZone, HostileNamesAreRefusedBeforeAnyFileIsOpened) {
  for (const std::string& bad : std::vector<std::string>{
           "../etc/passwd", "/etc/passwd", "Europe/../../etc/passwd", "Europe//Berlin", "Europe/",
           "", ".", "Europe/Berlin\n", "Europe/Ber lin", "Europe\\Berlin", "Europe/Berlin.tzif",
           std::string(TimeZone::kMaxNameLength + 1, 'a'), std::string("UTC\0x", 5)}) {
    auto z = TimeZone::Load(bad);
    ASSERT_FALSE(z.ok()) << bad;
    EXPECT_EQ(z.status().message().find('\n'), std::string::npos) << z.status().ToString();
    EXPECT_EQ(z.status().code(), StatusCode::kInvalidArgument)
        << bad << ": " << z.status().ToString();
  }
  // Well formed but absent: NotFound naming the zone and the directory.
  for (const char* absent : {"Foo/Bar", "America"}) {  // America is a directory
    auto z = TimeZone::Load(absent);
    ASSERT_FALSE(z.ok()) << absent;
    EXPECT_EQ(z.status().code(), StatusCode::kNotFound) << absent;
    EXPECT_NE(z.status().message().find(std::string("`") + absent + "`"), std::string::npos)
        << z.status().ToString();
    EXPECT_NE(z.status().message().find(kZoneDir), std::string::npos) << z.status().ToString();
  }
  EXPECT_TRUE(TimeZone::Load("Etc/GMT+5").ok());
  EXPECT_TRUE(TimeZone::Load("America/Port-au-Prince").ok());
}

TEST(TimeZone, CorruptFilesAreRefusedNamingTheFile) {
  std::string berlin = larder::testing::ReadFileText(std::string(kZoneDir) + "/Europe/Berlin");
  ASSERT_GT(berlin.size(), 1000u);
  larder::testing::TempDir dir;
  ScopedTzdir tzdir(dir.path());
  dir.Write("Good/Berlin", berlin);
  const TimeZone copy = MustLoad("Good/Berlin");  // TZDIR is read
  EXPECT_EQ(Offset(copy, At(2026, 7, 1)), 2 * kHour);

  std::string bad_magic = berlin;
  bad_magic[0] = 'X';
  std::string bad_version = berlin;
  bad_version[4] = '9';
  std::string bad_type = berlin;  // the first v1 transition's type index
  const size_t v1_types = 44 + 4 * 143;
  bad_type[v1_types] = 9;
  std::string bad_footer = berlin;
  bad_footer.replace(bad_footer.size() - 5, 3, "XXX");
  const std::string v2_type_start = berlin.substr(0, berlin.size() - 1);  // no final newline
  struct Case {
    std::string name;
    std::string bytes;
    std::string says;
  };
  const Case cases[] = {
      {"Empty", "", "shorter than a TZif header"},
      {"Truncated", berlin.substr(0, 100), "truncated in the version 1 data"},
      {"TruncatedV2", berlin.substr(0, berlin.size() / 2 + 400), "truncated in the data block"},
      {"NoFooter", v2_type_start, "footer"},
      {"Magic", bad_magic, "no TZif magic"},
      {"Version", bad_version, "unknown TZif version"},
      {"BadFooter", bad_footer, "footer TZ string"},
  };
  for (const Case& c : cases) {
    dir.Write("Bad/" + c.name, c.bytes);
    auto z = TimeZone::Load("Bad/" + c.name);
    ASSERT_FALSE(z.ok()) << c.name;
    EXPECT_EQ(z.status().code(), StatusCode::kCorruption)
        << c.name << ": " << z.status().ToString();
    EXPECT_NE(z.status().message().find(dir.Join("Bad/" + c.name)), std::string::npos)
        << z.status().ToString();
    EXPECT_NE(z.status().message().find(c.says), std::string::npos)
        << c.name << ": " << z.status().ToString();
  }
  // A v1 type index past the types is caught only when v1 data is used;
  // the v2 block of this file is intact, so it loads.
  dir.Write("V1Only/Berlin", bad_type);
  EXPECT_TRUE(TimeZone::Load("V1Only/Berlin").ok());
  // Read as version 1 (the 32-bit block), the same file gives the same
  // offsets, and its damage counts.
  std::string v1 = berlin;
  v1[4] = '\0';
  dir.Write("V1/Berlin", v1);
  const TimeZone v1_zone = MustLoad("V1/Berlin");
  EXPECT_EQ(Offset(v1_zone, At(2026, 7, 1)), 2 * kHour);
  v1[v1_types] = 9;
  dir.Write("V1/BadType", v1);
  EXPECT_EQ(TimeZone::Load("V1/BadType").status().code(), StatusCode::kCorruption);
  std::string unordered = berlin;
  unordered[4] = '\0';
  unordered[44 + 4 * 10] = 0x7f;  // the high byte of the 11th time
  dir.Write("V1/Unordered", unordered);
  auto u = TimeZone::Load("V1/Unordered");
  EXPECT_EQ(u.status().code(), StatusCode::kCorruption);
  EXPECT_NE(u.status().message().find("out of order"), std::string::npos) << u.status().ToString();
  EXPECT_NE(u.status().message().find("time zone `V1/Unordered`"), std::string::npos)
      << u.status().ToString();
}

// The seeds of fuzz/tzif_fuzz.cc are zone files that parse.
TEST(TimeZone, FuzzCorpusSeedsParse) {
  int seeds = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(larder::testing::SourceDir() + "/fuzz/corpus/tzif")) {
    auto z = TimeZone::FromTzif("Seed/Zone", larder::testing::ReadFileText(entry.path()));
    EXPECT_TRUE(z.ok()) << entry.path() << ": " << z.status().ToString();
    ++seeds;
  }
  EXPECT_GE(seeds, 3);
}

}  // namespace
}  // namespace larder::schedule
