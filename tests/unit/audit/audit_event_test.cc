// audit::appendJsonLine / toJsonLine (audit/audit_event.h): the exact audit line, written
// through one pre-sized buffer (every member, the governance object, the RFC 3339 time
// whose date part is cached per second) and valid JSON even at worst-case escaping.
#include "audit/audit_event.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace warden::audit {
namespace {

AuditEvent fullEvent() {
  AuditEvent e;
  e.time_unix_us = 1'796'688'000'123'456;  // 2026-12-08T00:00:00.123456Z
  e.request_id = "79b91141dc7377b3";
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.allowed = true;
  e.layer = "rbac";
  e.reason = "allowed";
  e.status = 200;
  e.caller_id = "spiffe://example.org/ns/default/sa/caller-a";
  e.target_id = "spiffe://example.org/ns/default/sa/budget-api";
  e.method = "GET";
  e.path = "/budget/read";
  e.rule_id = "budget-read";
  e.policy_version = "bench-1";
  e.source_address = "127.0.0.1:53340";
  e.connection_id = 7;
  e.decision_latency_us = 55;
  e.upstream_status = 200;
  e.bytes_in = 0;
  e.bytes_out = 31;
  e.duration_us = 500;
  e.caller_risk = "low";
  e.caller_state = "enabled";
  e.caller_name = "caller-a";
  e.caller_tags = "env=prod,team=finance";
  e.governance_version = "g42";
  return e;
}

TEST(AuditLineTest, AFullRequestEventRendersEveryMemberInOrder) {
  EXPECT_EQ(toJsonLine(fullEvent()),
            R"({"time":"2026-12-08T00:00:00.123456Z","event":"request","direction":"ingress",)"
            R"("decision":"allow","layer":"rbac","reason":"allowed","status":200,)"
            R"("request_id":"79b91141dc7377b3","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",)"
            R"("caller":"spiffe://example.org/ns/default/sa/caller-a",)"
            R"("target":"spiffe://example.org/ns/default/sa/budget-api","method":"GET",)"
            R"("path":"/budget/read","rule_id":"budget-read","policy_version":"bench-1",)"
            R"("source":"127.0.0.1:53340","connection_id":7,"decision_latency_us":55,)"
            R"("upstream_status":200,"bytes_in":0,"bytes_out":31,"duration_us":500,)"
            R"("governance":{"risk":"low","state":"enabled","agent":"caller-a",)"
            R"("tags":"env=prod,team=finance","version":"g42"}})");
}

TEST(AuditLineTest, TheTimeFollowsEachEventAcrossSecondsInEitherDirection) {
  // The date part is cached per second: a later second, an earlier one (events of two
  // workers may arrive out of order) and a far one must each be formatted afresh.
  const struct {
    std::int64_t us;
    const char* text;
  } cases[] = {
      {1'796'688'000'123'456, "2026-12-08T00:00:00.123456Z"},
      {1'796'688'000'999'999, "2026-12-08T00:00:00.999999Z"},
      {1'796'688'001'000'000, "2026-12-08T00:00:01.000000Z"},
      {1'796'687'999'000'007, "2026-12-07T23:59:59.000007Z"},
      {951'782'400'000'000, "2000-02-29T00:00:00.000000Z"},
      {0, "1970-01-01T00:00:00.000000Z"},
  };
  for (const auto& c : cases) {
    AuditEvent e;
    e.time_unix_us = c.us;
    EXPECT_EQ(nlohmann::json::parse(toJsonLine(e))["time"], c.text) << c.us;
  }
}

TEST(AuditLineTest, AHandshakeEventHasNoRequestMembers) {
  AuditEvent e = fullEvent();
  e.kind = EventKind::kHandshake;
  e.caller_risk.clear();
  const auto j = nlohmann::json::parse(toJsonLine(e));
  EXPECT_EQ(j["event"], "handshake");
  for (const char* absent : {"method", "path", "rule_id", "upstream_status", "bytes_in",
                             "bytes_out", "duration_us", "governance", "token", "detail"}) {
    EXPECT_FALSE(j.contains(absent)) << absent;
  }
}

TEST(AuditLineTest, WorstCaseEscapingInEveryFreeTextMemberStillParsesBack) {
  // Control characters become six bytes each: the most a member can grow.
  const std::string nasty(3000, '\x01');
  AuditEvent e = fullEvent();
  e.path = e.detail = e.caller_tags = e.rule_id = nasty;
  e.method = "\xff\xfe";  // not UTF-8: replaced, six bytes each too
  std::string out = "previous line\n";
  appendJsonLine(out, e);
  ASSERT_EQ(out.rfind("previous line\n", 0), 0u) << "what the buffer held is kept";
  const auto j = nlohmann::json::parse(out.substr(14));
  EXPECT_EQ(j["path"], nasty);
  EXPECT_EQ(j["detail"], nasty);
  EXPECT_EQ(j["governance"]["tags"], nasty);
  EXPECT_EQ(j["method"], "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(out.find('\n', 14), std::string::npos);
}

}  // namespace
}  // namespace warden::audit
