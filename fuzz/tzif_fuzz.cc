// Fuzzes the TZif parser (src/schedule/time_zone.h). The input is a TZif
// file. It must parse or give Corruption naming the zone, and a parsed zone
// must keep TimeZone's contract at a spread of instants and wall times:
// offsets within ±26 h, LocalToUtc's instants ascending and each showing
// the wall time asked for, FirstUtcAtOrAfterLocal an instant showing that
// wall time or a later one, and no later than any of them (the first when
// it shows that wall time). Anything else traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "schedule/time_zone.h"

namespace {

using larder::StatusCode;
using larder::schedule::TimeZone;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr int64_t kYear = 31'556'952;  // seconds, on average

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto zone = TimeZone::FromTzif("Fuzz/Zone", bytes);
  if (!zone.ok()) {
    Check(zone.status().code() == StatusCode::kCorruption);
    Check(zone.status().message().starts_with("time zone `Fuzz/Zone`: "));
    return 0;
  }
  auto wall = [&](int64_t utc) { return utc + zone->OffsetSeconds(utc * 1'000'000); };
  for (int64_t year = -200; year <= 200; year += 3) {
    for (const int64_t within : {int64_t{0}, kYear / 4 + 7'201, kYear / 2 + 3'599, kYear * 5 / 6}) {
      const int64_t t = year * kYear + within;
      const int64_t offset = zone->OffsetSeconds(t * 1'000'000);
      Check(offset >= -26 * 3600 && offset <= 26 * 3600);
      const auto instants = zone->LocalToUtc(t);
      for (size_t i = 0; i < instants.size(); ++i) {
        Check(wall(instants[i]) == t);
        Check(i == 0 || instants[i - 1] < instants[i]);
      }
      const int64_t first = zone->FirstUtcAtOrAfterLocal(t);
      Check(wall(first) >= t);
      if (!instants.empty()) Check(first <= instants.front());
      if (wall(first) == t) Check(!instants.empty() && first == instants.front());
    }
  }
  return 0;
}
