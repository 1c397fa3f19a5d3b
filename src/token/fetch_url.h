// URLs Warden fetches key material from (OIDC discovery documents, JWKS) and asks for
// access tokens (token endpoints); the exchange itself is http_fetch.h.
//
// Trust posture: the text comes from configuration or from a discovery document (which is
// itself fetched from a configured URL), and decides whom we trust for keys, so the rules
// are strict: https; plain http only to a loopback IP literal (a local IdP, tests), where
// no network attacker sits between us and the server; no userinfo, no fragment; a DNS
// name of LDH labels or an IP literal; an explicit port in 1..65535.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace warden::token {

struct FetchUrl {
  std::string text;         // as configured, for messages
  bool tls = true;          // https
  std::string host;         // lowercase DNS name, or an IP literal without brackets
  bool host_is_ip = false;
  std::string port;         // decimal
  std::uint16_t port_number = 443;
  std::string target;       // origin-form: path and query
  std::string host_header;  // the Host: value
};

Result<FetchUrl> parseFetchUrl(std::string_view text);

}  // namespace warden::token
