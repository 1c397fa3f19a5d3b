#include "common/token_facts.h"

#include <string_view>

#include "common/json_escape.h"

namespace warden {
namespace {

void member(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  out.append(",\"").append(name).append("\":");
  appendJsonString(out, value);
}

}  // namespace

void appendAuditMembers(std::string& out, const TokenFacts& facts) {
  if (!facts.audit_members.empty()) {
    out.append(facts.audit_members);
    return;
  }
  member(out, "iss", facts.issuer);
  member(out, "sub", facts.subject);
  member(out, "client_id", facts.client_id);
  member(out, "aud", facts.audiences_csv);
  member(out, "roles", facts.roles_csv);
  member(out, "jti_sha256", facts.jti_digest);
}

void renderAuditMembers(TokenFacts& facts) {
  std::string out;
  facts.audit_members.clear();
  appendAuditMembers(out, facts);
  facts.audit_members = std::move(out);
}

}  // namespace warden
