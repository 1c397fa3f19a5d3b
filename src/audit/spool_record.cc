#include "audit/spool_record.h"

#include <fmt/format.h>

#include <array>
#include <charconv>

namespace warden::audit {
namespace {

// Table-driven, one byte at a time: the spool checks a few MB per second at most, and a
// table keeps the library free of a zlib or SSE4.2 dependency.
constexpr std::array<std::uint32_t, 256> makeTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? (c >> 1) ^ 0x82F63B78U : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kTable = makeTable();

std::uint32_t recordCrc(std::uint64_t seq, std::int64_t appended_unix_ms, std::string_view json) {
  const std::string prefix = fmt::format("{} {} ", seq, appended_unix_ms);
  return crc32c(crc32c(0, prefix), json);
}

// Strict unsigned decimal: 1..20 digits, no sign, no overflow.
template <class Int>
bool takeNumber(std::string_view& rest, Int& value) {
  const auto space = rest.find(' ');
  if (space == 0 || space == std::string_view::npos) return false;
  const char* end = rest.data() + space;
  const auto [ptr, ec] = std::from_chars(rest.data(), end, value);
  if (ec != std::errc{} || ptr != end || rest.front() == '-' || rest.front() == '+') return false;
  rest.remove_prefix(space + 1);
  return true;
}

}  // namespace

std::uint32_t crc32c(std::uint32_t crc, std::string_view bytes) {
  crc = ~crc;
  for (const char ch : bytes) {
    crc = kTable[(crc ^ static_cast<unsigned char>(ch)) & 0xFFU] ^ (crc >> 8);
  }
  return ~crc;
}

void appendSpoolRecord(std::string& out, std::uint64_t seq, std::int64_t appended_unix_ms,
                       std::string_view json) {
  const std::size_t start = out.size();
  fmt::format_to(std::back_inserter(out), "{} {} ", seq, appended_unix_ms);
  const std::uint32_t crc = crc32c(crc32c(0, std::string_view(out).substr(start)), json);
  fmt::format_to(std::back_inserter(out), "{:08x} ", crc);
  out.append(json);
  out.push_back('\n');
}

std::optional<SpoolRecordView> parseSpoolRecord(std::string_view line) {
  SpoolRecordView record;
  std::string_view rest = line;
  if (!takeNumber(rest, record.seq) || !takeNumber(rest, record.appended_unix_ms)) {
    return std::nullopt;
  }
  if (rest.size() < 10 || rest[8] != ' ') return std::nullopt;
  std::uint32_t crc = 0;
  for (int i = 0; i < 8; ++i) {
    const char c = rest[static_cast<std::size_t>(i)];
    std::uint32_t nibble = 0;
    if (c >= '0' && c <= '9') {
      nibble = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      nibble = static_cast<std::uint32_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    crc = (crc << 4) | nibble;
  }
  record.json = rest.substr(9);
  if (crc != recordCrc(record.seq, record.appended_unix_ms, record.json)) return std::nullopt;
  return record;
}

}  // namespace warden::audit
