#include "tokenservice/oauth_error.h"

#include <nlohmann/json.hpp>

namespace warden::tokenservice {

namespace {
constexpr std::size_t kMaxDescription = 512;
}

std::string_view oauthErrorName(OAuthErrorCode code) {
  switch (code) {
    case OAuthErrorCode::kInvalidRequest: return "invalid_request";
    case OAuthErrorCode::kInvalidClient: return "invalid_client";
    case OAuthErrorCode::kInvalidGrant: return "invalid_grant";
    case OAuthErrorCode::kUnauthorizedClient: return "unauthorized_client";
    case OAuthErrorCode::kUnsupportedGrantType: return "unsupported_grant_type";
    case OAuthErrorCode::kInvalidScope: return "invalid_scope";
    case OAuthErrorCode::kInvalidTarget: return "invalid_target";
    case OAuthErrorCode::kAccessDenied: return "access_denied";
    case OAuthErrorCode::kSlowDown: return "slow_down";
    case OAuthErrorCode::kServerError: return "server_error";
    case OAuthErrorCode::kTemporarilyUnavailable: return "temporarily_unavailable";
  }
  return "server_error";
}

unsigned OAuthError::httpStatus() const {
  switch (code) {
    case OAuthErrorCode::kInvalidClient: return 401;
    case OAuthErrorCode::kAccessDenied: return 403;
    case OAuthErrorCode::kSlowDown: return 429;
    case OAuthErrorCode::kServerError: return 500;
    case OAuthErrorCode::kTemporarilyUnavailable: return 503;
    default: return 400;
  }
}

std::string_view OAuthError::name() const { return oauthErrorName(code); }

std::string OAuthError::body() const {
  nlohmann::json j = {{"error", name()}};
  if (!description.empty()) j["error_description"] = sanitizeDescription(description);
  return j.dump();
}

OAuthError oauthError(OAuthErrorCode code, std::string description) {
  OAuthError e;
  e.code = code;
  e.description = std::move(description);
  return e;
}

std::string sanitizeDescription(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxDescription));
  for (const char c : text) {
    if (out.size() >= kMaxDescription) break;
    const auto u = static_cast<unsigned char>(c);
    const bool allowed = u >= 0x20 && u <= 0x7e && c != '"' && c != '\\';
    out.push_back(allowed ? c : '?');
  }
  return out;
}

}  // namespace warden::tokenservice
