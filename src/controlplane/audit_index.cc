#include "controlplane/audit_index.h"

#include <cstdint>

#include <nlohmann/json.hpp>

namespace warden::controlplane {
namespace {

using Json = nlohmann::json;

// Indexed copies are bounded; the full value stays in the stored line.
constexpr std::size_t kMaxIndexedBytes = 2048;

std::string stringField(const Json& j, const char* key, const char* alt = nullptr) {
  auto it = j.find(key);
  if ((it == j.end() || !it->is_string()) && alt != nullptr) it = j.find(alt);
  if (it == j.end() || !it->is_string()) return {};
  std::string value = it->get<std::string>();
  if (value.size() > kMaxIndexedBytes) value.resize(kMaxIndexedBytes);
  return value;
}

std::optional<std::int64_t> intField(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > INT64_MAX) return std::nullopt;
  return it->get<std::int64_t>();
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t daysFromCivil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

}  // namespace

std::optional<std::int64_t> parseRfc3339Micros(std::string_view s) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) micros = micros * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (std::size_t k = n; k < 6; ++k) micros *= 10;
  }
  std::int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = (s[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const std::int64_t secs = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                            (second == 60 ? 59 : second) - offset_s;
  return secs * 1'000'000 + micros;
}

AuditIndex indexAuditLine(std::string_view line, std::int64_t received_unix_us) {
  AuditIndex index;
  index.time_unix_us = received_unix_us;
  const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return index;
  index.parsed = true;
  if (auto us = intField(j, "time_unix_us")) {
    index.time_unix_us = *us;
  } else if (auto it = j.find("time"); it != j.end() && it->is_string()) {
    if (auto t = parseRfc3339Micros(it->get<std::string>())) index.time_unix_us = *t;
  }
  index.request_id = stringField(j, "request_id");
  index.decision = stringField(j, "decision");
  index.layer = stringField(j, "layer");
  index.reason = stringField(j, "reason");
  index.caller = stringField(j, "caller", "caller_id");
  index.target = stringField(j, "target", "target_id");
  index.method = stringField(j, "method");
  index.path = stringField(j, "path");
  index.status = intField(j, "status").value_or(0);
  return index;
}

}  // namespace warden::controlplane
