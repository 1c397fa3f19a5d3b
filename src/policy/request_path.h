// Request-target normalisation: the one path that both the policy and the app see.
//
// Trust posture: the request target is attacker-controlled. Accepted: origin-form only
// ("/path?query"). Steps, in order: reject raw bytes outside RFC 3986 pchar/"/"/"?" (and
// raw "\", NUL, CTLs, space, "#"); decode percent-escapes of unreserved characters
// (ALPHA DIGIT - . _ ~), upper-case the hex of the escapes kept; reject escapes that are
// malformed or encode "/", "\", NUL or any control byte; merge duplicate slashes; remove
// dot segments (RFC 3986 §5.2.4). The query is kept verbatim. A trailing slash is kept:
// "/a/" and "/a" are different resources to most apps, so they are to policy too.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace warden::policy {

struct NormalizedTarget {
  std::string path;   // always starts with "/"
  std::string query;  // without the "?"; empty if none
  bool has_query = false;
  // path + ("?" + query if has_query): what is sent upstream.
  std::string target() const;
};

// Error messages are short and safe to return to the client.
Result<NormalizedTarget> normalizeRequestTarget(std::string_view target);

}  // namespace warden::policy
