// The searchable columns of one sidecar audit event, taken from its JSON line.
//
// The sidecar writes the fields of docs/audit.md (src/audit/audit_event.cc): `time` as
// RFC 3339 UTC with microseconds, `caller`, `target`, `decision`, `layer`, `reason`,
// `request_id`, `method`, `path`, `status`. `time_unix_us`, `caller_id` and `target_id` are
// accepted too (the AuditEvent struct's names), for senders that use them.
//
// Trust posture: the line comes from an authenticated sidecar but is still input. Nothing
// here throws; a line that is not a JSON object, or a field of the wrong type, leaves the
// columns empty (the line itself is still stored: an audit record is never dropped for
// its shape), and the time falls back to when the server received it.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace warden::controlplane {

struct AuditIndex {
  bool parsed = false;  // the line was a JSON object
  std::int64_t time_unix_us = 0;
  std::string request_id;
  std::string decision;  // "allow" / "deny"
  std::string layer;
  std::string reason;
  std::string caller;
  std::string target;
  std::string method;
  std::string path;
  std::int64_t status = 0;
};

AuditIndex indexAuditLine(std::string_view line, std::int64_t received_unix_us);

// "2026-11-24T13:59:25.010178Z" (or with a numeric offset, up to 9 fraction digits)
// -> microseconds since the epoch.
std::optional<std::int64_t> parseRfc3339Micros(std::string_view text);

}  // namespace warden::controlplane
