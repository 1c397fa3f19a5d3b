#include "proxy/request_token.h"

namespace warden::proxy {

RequestTokenCheck checkRequestToken(const token::AccessTokenVerifier& verifier,
                                    const token::RevocationSet* revocations,
                                    const policy::Decision& decision,
                                    std::string_view authorization,
                                    const token::CallerBinding& caller,
                                    std::chrono::system_clock::time_point now,
                                    token::TokenMemo* memo) {
  RequestTokenCheck out;
  token::TokenVerdict& verdict = out.verdict;
  if (authorization.empty()) {
    verdict.http_status = 401;
    verdict.reason = std::string(token::reason::kTokenMissing);
    verdict.www_authenticate = "Bearer";  // RFC 6750 §3.1: no error code without a token
    return out;
  }
  out.present = true;
  const auto bearer = token::bearerToken(authorization);
  if (!bearer) {
    verdict.http_status = 401;
    verdict.reason = std::string(token::reason::kInvalidToken);
    verdict.www_authenticate =
        "Bearer error=\"invalid_request\", error_description=\"expected a Bearer token\"";
    return out;
  }
  verdict = verifier.verify(*bearer, caller, now, memo);
  // Revoked by the control plane (CAEP session-revoked, credential-change).
  if (verdict.ok && revocations != nullptr) {
    if (auto revoked = revocations->check(verdict.token)) verdict = std::move(*revoked);
  }
  if (verdict.ok && decision.required_roles != nullptr) {
    auto roles = token::checkRoles(*verdict.token, *decision.required_roles);
    if (!roles.ok) {
      roles.token = verdict.token;
      verdict = std::move(roles);
    }
  }
  if (verdict.ok && decision.required_claims != nullptr) {
    auto claims = token::checkClaims(*verdict.token, *decision.required_claims);
    if (!claims.ok) {
      claims.token = verdict.token;
      verdict = std::move(claims);
    }
  }
  return out;
}

}  // namespace warden::proxy
