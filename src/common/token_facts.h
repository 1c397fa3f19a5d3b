// The reportable facts of a verified access token: what the sidecar tells the app
// (X-Warden-Token-* headers) and what the audit trail records. Never the token itself.
//
// It lives in common because the module that produces it (token) and the one that records
// it (audit) are siblings. token::VerifiedToken derives from it, so a request shares the
// verified (usually cached) token's facts by pointer, one reference count, instead of
// copying six strings into every audit event.
// Thread-safety: plain value; immutable once shared (cached tokens are const).
#pragma once

#include <string>

namespace warden {

struct TokenFacts {
  std::string issuer;
  std::string subject;    // `sub`, empty when absent
  // The client: `azp` (Entra v2, OIDC) | `appid` (Entra v1) | `client_id` (RFC 9068).
  std::string client_id;
  std::string jti_digest;  // hex SHA-256 of `jti` (or Entra's `uti`), or empty
  // `aud` and the roles joined with ",", computed once at verification.
  std::string audiences_csv;
  std::string roles_csv;
  // The members above as the audit line's `token` object members (`,"iss":"…",…`),
  // rendered once by renderAuditMembers() when the facts are complete, so a cached token
  // is not escaped again for every request's audit line. Empty: the writer renders them.
  std::string audit_members;
  // The same facts as the X-Warden-Token-* header lines the sidecar adds to a request for
  // the app, rendered once by renderHeaderLines() for the same reason. Empty: the sidecar
  // renders them per request.
  std::string header_lines;
};

// Appends the audit members of `facts` to `out` (rendered now, or as prerendered).
void appendAuditMembers(std::string& out, const TokenFacts& facts);
// Fills facts.audit_members from the other members.
void renderAuditMembers(TokenFacts& facts);

// Appends the X-Warden-Token-* header lines of `facts` ("Name: value\r\n" each):
// Issuer, Subject and Client-Id when present, Audience, Roles (comma-separated).
void appendHeaderLines(std::string& out, const TokenFacts& facts);
// Fills facts.header_lines from the other members.
void renderHeaderLines(TokenFacts& facts);

}  // namespace warden
