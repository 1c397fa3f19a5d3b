#include "common/token_facts.h"

#include <string_view>

#include "common/header_line.h"
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

void appendHeaderLines(std::string& out, const TokenFacts& facts) {
  if (!facts.header_lines.empty()) {
    out.append(facts.header_lines);
    return;
  }
  appendHeaderLine(out, "X-Warden-Token-Issuer", facts.issuer);
  if (!facts.subject.empty()) appendHeaderLine(out, "X-Warden-Token-Subject", facts.subject);
  if (!facts.client_id.empty()) appendHeaderLine(out, "X-Warden-Token-Client-Id", facts.client_id);
  appendHeaderLine(out, "X-Warden-Token-Audience", facts.audiences_csv);
  appendHeaderLine(out, "X-Warden-Token-Roles", facts.roles_csv);
}

void renderHeaderLines(TokenFacts& facts) {
  std::string out;
  facts.header_lines.clear();
  appendHeaderLines(out, facts);
  facts.header_lines = std::move(out);
}

}  // namespace warden
