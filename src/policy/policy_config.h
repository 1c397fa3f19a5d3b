// Plain structs for a target's policy file, as parsed (before validation/compilation).
//
// See docs/policy.md for the YAML schema. Parsing fills these structs and records the
// source line of every element so validation errors can point at it.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace warden::policy {

struct SourceMark {
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
};

// One entry of an ID matcher list: exactly one field is set.
struct PeerMatcherConfig {
  std::string id;            // exact SPIFFE ID
  std::string pattern;       // SPIFFE ID with `*` segments
  std::string trust_domain;  // whole trust domain
  SourceMark mark;
};

struct PathMatchConfig {
  enum class Kind { kExact, kPrefix, kPattern };
  Kind kind = Kind::kExact;
  std::string value;
  SourceMark mark;
};

enum class RuleAction { kAllow, kDeny };

struct RuleConfig {
  std::string id;                    // unique within the file; generated if absent
  std::vector<std::string> methods;  // upper-case tokens or "*"
  PathMatchConfig path;
  RuleAction action = RuleAction::kDeny;
  std::vector<std::string> roles;    // layer 3: the token must carry all of them
  // Layer 3: claim name -> value the token's claim must equal (or, an array, contain).
  std::vector<std::pair<std::string, std::string>> claims;
  SourceMark mark;
};

struct CallerConfig {
  PeerMatcherConfig match;
  std::vector<RuleConfig> rules;
  SourceMark mark;
};

// Layer 3: one trusted token issuer of this target (plain values; the sidecar turns them
// into token::TokenIssuerConfig and a JWKS source).
struct TokenIssuerPolicy {
  std::string issuer;         // exact `iss`
  std::string discovery_url;  // exactly one of discovery_url, jwks_url, jwks_file
  std::string jwks_url;
  std::string jwks_file;
  std::string ca_file;                  // TLS roots for https fetches (optional)
  std::vector<std::string> audiences;   // accepted `aud` values (at least one)
  std::vector<std::string> algorithms;  // pinned; default RS256, PS256, ES256
  std::string typ = "at+jwt";           // required `typ`; "" accepts any (Entra v1/v2)
  std::uint32_t clock_skew_seconds = 60;
  std::string roles_claim = "roles";
  std::vector<std::string> required_claims;
  SourceMark mark;
};

enum class TokenBinding {
  kNone,
  kSubject,      // the token's `binding_claim` must equal the caller's SPIFFE ID
  kCertificate,  // RFC 8705: cnf.x5t#S256 must be the caller certificate's thumbprint
};

struct TokenPolicyConfig {
  std::vector<TokenIssuerPolicy> issuers;
  TokenBinding binding = TokenBinding::kNone;
  std::string binding_claim = "sub";  // kSubject: sub, azp or client_id
  // kSubject: client id -> SPIFFE ID, for issuers whose binding claim is not a SPIFFE ID
  // (Microsoft Entra: azp/appid is the client app's GUID, sub its service principal's
  // object id). The claim then binds when it equals the caller's SPIFFE ID or is a client
  // id mapped to it.
  std::map<std::string, std::string> client_ids;
  SourceMark mark;
};

struct PolicyConfig {
  std::string version;                   // operator-chosen label, echoed in audit
  std::string target;                    // optional SPIFFE ID of the protected workload
  std::vector<PeerMatcherConfig> allow;  // layer 1 allow-list
  std::vector<CallerConfig> callers;     // layer 2
  std::optional<TokenPolicyConfig> token;  // layer 3; absent: no token required
  std::string source_name;               // file name for messages
  SourceMark version_mark;               // where `version` / `target` were written
  SourceMark target_mark;
};

// Builds "<source>:<line>:<col>: <field>: <message>", the one shape of every config error
// (the location is left out when `mark` is unknown, the field when `field` is empty), so
// editors and CI annotations can jump to the line.
Error configError(std::string_view source, SourceMark mark, std::string_view field,
                  std::string_view message);

}  // namespace warden::policy
