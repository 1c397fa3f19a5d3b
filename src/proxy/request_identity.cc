#include "proxy/request_identity.h"

#include <boost/beast/core/string.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "common/hex.h"

namespace warden::proxy {
namespace {

bool isLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && boost::beast::iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace

std::string newRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t v = rng();
  unsigned char bytes[sizeof v];
  std::memcpy(bytes, &v, sizeof v);
  std::string out;
  appendHex(out, bytes, sizeof bytes);
  return out;
}

std::string traceIdFrom(std::string_view tp) {
  // W3C Trace Context §3.2: 00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>
  if (tp.size() != 55 || tp.substr(0, 3) != "00-" || tp[35] != '-' || tp[52] != '-') return {};
  const auto trace = tp.substr(3, 32);
  if (!isLowerHex(trace) || !isLowerHex(tp.substr(36, 16)) || !isLowerHex(tp.substr(53, 2))) {
    return {};
  }
  if (trace == std::string_view("00000000000000000000000000000000")) return {};
  return std::string(trace);
}

void stripIdentityHeaders(boost::beast::http::fields& fields) {
  std::vector<std::string> doomed;
  for (const auto& f : fields) {
    const auto name = f.name_string();
    if (boost::beast::iequals(name, kSpiffeIdHeader) ||
        boost::beast::iequals(name, kClientCertHeader) ||
        boost::beast::iequals(name, kRequestIdHeader) || startsWithNoCase(name, "x-warden-") ||
        startsWithNoCase(name, "x-spiffe-")) {
      doomed.emplace_back(name);
    }
  }
  for (const auto& name : doomed) fields.erase(name);
}

std::string clientCertHeader(std::string_view own_id,
                             const std::array<std::uint8_t, 32>& sha256,
                             std::string_view peer_id) {
  // Envoy's x-forwarded-client-cert format: semicolon-separated key=value pairs.
  std::string out;
  out.reserve(own_id.size() + peer_id.size() + 80);
  out.append("By=").append(own_id).append(";Hash=");
  appendHex(out, sha256.data(), sha256.size());
  out.append(";URI=").append(peer_id);
  return out;
}

}  // namespace warden::proxy
