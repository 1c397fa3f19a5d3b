#include "audit/audit_event.h"

#include <charconv>
#include <ctime>

#include "common/json_escape.h"

namespace warden::audit {
namespace {

// Zero-padded decimal of exactly `width` (<= 8) digits. The callers pass calendar fields
// and microseconds of a post-1970 time (years up to 9999); a negative value prints as 0.
void appendPadded(std::string& out, long value, int width) {
  if (value < 0) value = 0;
  char digits[8];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, static_cast<std::size_t>(width));
}

// RFC 3339 UTC with microseconds. Written by hand rather than with fmt: the format
// string is parsed on every call and this runs once per audit line.
void appendTimestamp(std::string& out, std::int64_t unix_us) {
  const std::time_t secs = static_cast<std::time_t>(unix_us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  out.push_back('"');
  appendPadded(out, tm.tm_year + 1900, 4);
  out.push_back('-');
  appendPadded(out, tm.tm_mon + 1, 2);
  out.push_back('-');
  appendPadded(out, tm.tm_mday, 2);
  out.push_back('T');
  appendPadded(out, tm.tm_hour, 2);
  out.push_back(':');
  appendPadded(out, tm.tm_min, 2);
  out.push_back(':');
  appendPadded(out, tm.tm_sec, 2);
  out.push_back('.');
  appendPadded(out, static_cast<long>(unix_us % 1000000), 6);
  out.append("Z\"");
}

// `name` is a literal that needs no escaping (and gets none: this runs ~20 times a line).
void field(std::string& out, std::string_view name, std::string_view value) {
  out.append(",\"").append(name).append("\":");
  appendJsonString(out, value);
}

// `name` is a literal that needs no escaping.
template <class Int>
void intField(std::string& out, std::string_view name, Int value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(",\"").append(name).append("\":").append(digits, end);
}

}  // namespace

std::string toJsonLine(const AuditEvent& e) {
  std::string out;
  out.reserve(512);
  appendJsonLine(out, e);
  return out;
}

void appendJsonLine(std::string& out, const AuditEvent& e) {
  out.append("{\"time\":");
  appendTimestamp(out, e.time_unix_us);
  field(out, "event", e.kind == EventKind::kRequest ? "request" : "handshake");
  field(out, "direction", e.direction == Direction::kIngress ? "ingress" : "egress");
  field(out, "decision", e.allowed ? "allow" : "deny");
  field(out, "layer", e.layer);
  field(out, "reason", e.reason);
  intField(out, "status", e.status);
  field(out, "request_id", e.request_id);
  if (!e.trace_id.empty()) field(out, "trace_id", e.trace_id);
  field(out, "caller", e.caller_id);
  field(out, "target", e.target_id);
  if (e.kind == EventKind::kRequest) {
    field(out, "method", e.method);
    field(out, "path", e.path);
    field(out, "rule_id", e.rule_id);
  }
  field(out, "policy_version", e.policy_version);
  field(out, "source", e.source_address);
  intField(out, "connection_id", e.connection_id);
  intField(out, "decision_latency_us", e.decision_latency_us);
  if (e.kind == EventKind::kRequest) {
    intField(out, "upstream_status", e.upstream_status);
    intField(out, "bytes_in", e.bytes_in);
    intField(out, "bytes_out", e.bytes_out);
    intField(out, "duration_us", e.duration_us);
  }
  if (e.token_present) {
    out.append(",\"token\":{\"present\":true");
    // iss, sub, client_id, aud, roles, jti_sha256: prerendered for verified tokens.
    if (const TokenFacts* t = e.token.get()) appendAuditMembers(out, *t);
    out.push_back('}');
  }
  if (!e.caller_risk.empty()) {
    out.append(",\"governance\":{");
    out.append("\"risk\":");
    appendJsonString(out, e.caller_risk);
    if (!e.caller_state.empty()) field(out, "state", e.caller_state);
    if (!e.caller_name.empty()) field(out, "agent", e.caller_name);
    if (!e.caller_tags.empty()) field(out, "tags", e.caller_tags);
    if (!e.governance_version.empty()) field(out, "version", e.governance_version);
    out.push_back('}');
  }
  if (!e.detail.empty()) field(out, "detail", e.detail);
  out.push_back('}');
}

}  // namespace warden::audit
