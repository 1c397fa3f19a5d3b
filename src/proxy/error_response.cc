#include "proxy/error_response.h"

#include "common/json_escape.h"
#include "policy/decision.h"

namespace warden::proxy {

std::string errorBody(std::string_view reason, std::string_view layer,
                      std::string_view request_id, std::string_view message) {
  std::string out;
  out.reserve(160 + message.size());
  out.append("{\"error\":");
  appendJsonString(out, reason);
  out.append(",\"layer\":");
  appendJsonString(out, layer);
  out.append(",\"request_id\":");
  appendJsonString(out, request_id);
  out.append(",\"message\":");
  appendJsonString(out, message);
  out.append("}\n");
  return out;
}

std::string_view defaultMessage(std::string_view reason) {
  namespace r = policy::reason;
  if (reason == r::kPeerNotAllowed) return "the caller is not on this target's allow-list";
  if (reason == r::kNoCallerPolicy) return "no policy applies to this caller";
  if (reason == r::kRuleDenied) return "a policy rule denies this request";
  if (reason == r::kNoMatchingRule) return "no policy rule allows this request";
  if (reason == r::kBadRequest) return "malformed HTTP request";
  if (reason == r::kInvalidPath) return "the request path is not acceptable";
  if (reason == r::kNoRoute) return "no egress route matches this request's Host";
  if (reason == r::kUpstreamUnavailable) return "the upstream could not be reached";
  if (reason == r::kUpstreamTimeout) return "the upstream did not answer in time";
  if (reason == r::kUpstreamIdentityMismatch) {
    return "the target presented an identity other than the one this route expects";
  }
  if (reason == r::kUntrustedCertificate) return "the target's certificate is not trusted";
  if (reason == r::kInvalidSvid) return "the target's certificate is not a valid X509-SVID";
  if (reason == r::kHandshakeRefused) {
    return "the target refused this workload's identity at the TLS handshake";
  }
  if (reason == r::kRequestTimeout) return "the request was not received in time";
  if (reason == r::kPayloadTooLarge) return "the request body exceeds the configured limit";
  if (reason == r::kHeadersTooLarge) return "the request headers exceed the configured limit";
  if (reason == r::kTokenUnavailable) {
    return "no access token for this route's target is available yet";
  }
  return "request denied";
}

}  // namespace warden::proxy
