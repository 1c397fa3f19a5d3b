#include "ssf/set_error.h"

#include <nlohmann/json.hpp>

namespace warden::ssf {

std::string_view setErrorName(SetErrorCode code) {
  switch (code) {
    case SetErrorCode::kInvalidRequest:
      return "invalid_request";
    case SetErrorCode::kInvalidKey:
      return "invalid_key";
    case SetErrorCode::kInvalidIssuer:
      return "invalid_issuer";
    case SetErrorCode::kInvalidAudience:
      return "invalid_audience";
    case SetErrorCode::kAuthenticationFailed:
      return "authentication_failed";
    case SetErrorCode::kAccessDenied:
      return "access_denied";
    case SetErrorCode::kInvalidState:
      return "invalid_state";
  }
  return "invalid_request";
}

std::string renderErrorBody(const SetError& error) {
  // Written by hand so that `err` comes first, as in RFC 8935's examples (nlohmann sorts
  // members). The code is a fixed token; the description goes through nlohmann for its
  // escaping, and `replace` keeps a stray invalid UTF-8 byte from throwing.
  const std::string description =
      nlohmann::json(error.description)
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return "{\"err\":\"" + std::string(setErrorName(error.err)) +
         "\",\"description\":" + description + "}";
}

}  // namespace warden::ssf
