// The on-disk line format of the audit spool (internal to AuditSpool and its tests).
//
// One record per line:  <seq> <appended_unix_ms> <crc32c, 8 lowercase hex> <json>\n
// The CRC-32C covers "<seq> <appended_unix_ms> <json>", so a flipped byte anywhere in the
// line (sequence number included) is detected and the line skipped, rather than shipping a
// damaged event or, worse, a right event under a wrong sequence number. The JSON must not
// contain a newline (toJsonLine() never emits one). Trust posture: parseSpoolRecord reads
// files this process wrote, but assumes nothing about them (a crash or a disk may have
// damaged any byte). Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace warden::audit {

struct SpoolRecordView {
  std::uint64_t seq = 0;
  std::int64_t appended_unix_ms = 0;
  std::string_view json;  // points into the parsed line
};

// CRC-32C (Castagnoli), continuing from `crc` (0 to start).
std::uint32_t crc32c(std::uint32_t crc, std::string_view bytes);

// Appends one complete record, newline included, to `out`.
void appendSpoolRecord(std::string& out, std::uint64_t seq, std::int64_t appended_unix_ms,
                       std::string_view json);

// Parses one line (without its '\n'); nullopt if it is malformed or its checksum is wrong.
std::optional<SpoolRecordView> parseSpoolRecord(std::string_view line);

}  // namespace warden::audit
