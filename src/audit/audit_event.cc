#include "audit/audit_event.h"

#include <array>
#include <charconv>
#include <cstring>
#include <ctime>
#include <initializer_list>

#include "common/json_escape.h"

namespace warden::audit {
namespace {

// Writes one audit line through a raw pointer into `out`, grown once to a bound of what
// the line can need and trimmed after: ~20 members a line, each a few bytes, made the
// capacity checks and calls of per-member std::string appends the bulk of the cost.
class LineWriter {
 public:
  LineWriter(std::string& out, std::size_t bound) : out_(out), at_(out.size()) {
    out_.resize(at_ + bound);
    p_ = out_.data() + at_;
  }
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;
  ~LineWriter() { out_.resize(static_cast<std::size_t>(p_ - out_.data())); }

  // Text that needs no escaping: punctuation, member names (literals), digits.
  void raw(std::string_view text) {
    std::memcpy(p_, text.data(), text.size());
    p_ += text.size();
  }
  void put(char c) { *p_++ = c; }
  void string(std::string_view value) { p_ = writeJsonString(p_, value); }

  // ,"name":"value" — `name` is a literal that needs no escaping.
  void member(std::string_view name, std::string_view value) {
    raw(",\"");
    raw(name);
    raw("\":");
    string(value);
  }
  template <class Int>
  void number(std::string_view name, Int value) {
    raw(",\"");
    raw(name);
    raw("\":");
    p_ = std::to_chars(p_, p_ + 24, value).ptr;
  }

  // RFC 3339 UTC with microseconds, quoted. The date and time of day are formatted once
  // per second of audit time (gmtime_r cost more than all the rest of a line's numbers).
  void timestamp(std::int64_t unix_us) {
    thread_local std::time_t cached_secs = -1;
    thread_local std::array<char, 19> cached;  // YYYY-MM-DDTHH:MM:SS
    const std::time_t secs = static_cast<std::time_t>(unix_us / 1000000);
    if (secs != cached_secs) {
      std::tm tm{};
      gmtime_r(&secs, &tm);
      char* c = cached.data();
      c = padded(c, tm.tm_year + 1900, 4);
      *c++ = '-';
      c = padded(c, tm.tm_mon + 1, 2);
      *c++ = '-';
      c = padded(c, tm.tm_mday, 2);
      *c++ = 'T';
      c = padded(c, tm.tm_hour, 2);
      *c++ = ':';
      c = padded(c, tm.tm_min, 2);
      *c++ = ':';
      padded(c, tm.tm_sec, 2);
      cached_secs = secs;
    }
    put('"');
    raw(std::string_view(cached.data(), cached.size()));
    put('.');
    p_ = padded(p_, static_cast<long>(unix_us % 1000000), 6);
    raw("Z\"");
  }

 private:
  // Zero-padded decimal of exactly `width` (<= 8) digits at `p`; returns the end. The
  // callers pass calendar fields and microseconds of a post-1970 time (years up to
  // 9999); a negative value prints as 0.
  static char* padded(char* p, long value, int width) {
    if (value < 0) value = 0;
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
    return p + width;
  }

  std::string& out_;
  std::size_t at_;
  char* p_ = nullptr;
};

// Room for everything of a line but its free-text values: member names, punctuation,
// numbers (at most 24 bytes each) and the timestamp. The longest such part of a line is
// well under half of this.
constexpr std::size_t kFixedPartBound = 1024;

std::size_t escapedBound(std::initializer_list<std::string_view> values) {
  std::size_t n = kFixedPartBound;
  for (const auto v : values) n += maxJsonStringSize(v);
  return n;
}

}  // namespace

std::string toJsonLine(const AuditEvent& e) {
  std::string out;
  out.reserve(512);
  appendJsonLine(out, e);
  return out;
}

void appendJsonLine(std::string& out, const AuditEvent& e) {
  {
    LineWriter w(out, escapedBound({e.layer, e.reason, e.request_id, e.trace_id, e.caller_id,
                                    e.target_id, e.method, e.path, e.rule_id, e.policy_version,
                                    e.source_address}));
    w.raw("{\"time\":");
    w.timestamp(e.time_unix_us);
    w.member("event", e.kind == EventKind::kRequest ? "request" : "handshake");
    w.member("direction", e.direction == Direction::kIngress ? "ingress" : "egress");
    w.member("decision", e.allowed ? "allow" : "deny");
    w.member("layer", e.layer);
    w.member("reason", e.reason);
    w.number("status", e.status);
    w.member("request_id", e.request_id);
    if (!e.trace_id.empty()) w.member("trace_id", e.trace_id);
    w.member("caller", e.caller_id);
    w.member("target", e.target_id);
    if (e.kind == EventKind::kRequest) {
      w.member("method", e.method);
      w.member("path", e.path);
      w.member("rule_id", e.rule_id);
    }
    w.member("policy_version", e.policy_version);
    w.member("source", e.source_address);
    w.number("connection_id", e.connection_id);
    w.number("decision_latency_us", e.decision_latency_us);
    if (e.kind == EventKind::kRequest) {
      w.number("upstream_status", e.upstream_status);
      w.number("bytes_in", e.bytes_in);
      w.number("bytes_out", e.bytes_out);
      w.number("duration_us", e.duration_us);
    }
  }
  if (e.token_present) {
    out.append(",\"token\":{\"present\":true");
    // iss, sub, client_id, aud, roles, jti_sha256: prerendered for verified tokens.
    if (const TokenFacts* t = e.token.get()) appendAuditMembers(out, *t);
    out.push_back('}');
  }
  LineWriter w(out, escapedBound({e.caller_risk, e.caller_state, e.caller_name, e.caller_tags,
                                  e.governance_version, e.detail}));
  if (!e.caller_risk.empty()) {
    w.raw(",\"governance\":{\"risk\":");
    w.string(e.caller_risk);
    if (!e.caller_state.empty()) w.member("state", e.caller_state);
    if (!e.caller_name.empty()) w.member("agent", e.caller_name);
    if (!e.caller_tags.empty()) w.member("tags", e.caller_tags);
    if (!e.governance_version.empty()) w.member("version", e.governance_version);
    w.put('}');
  }
  if (!e.detail.empty()) w.member("detail", e.detail);
  w.put('}');
}

}  // namespace warden::audit
