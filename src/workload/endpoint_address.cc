#include "workload/endpoint_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace warden::workload {
namespace {

// The scheme is case-insensitive (RFC 3986 §3.1; go-spiffe lowercases it through
// url.Parse), so "UNIX:/p" and "unix:/p" name the same endpoint.
bool consumeScheme(std::string_view& rest, std::string_view scheme) {
  if (rest.size() <= scheme.size() || rest[scheme.size()] != ':') return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    char c = rest[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != scheme[i]) return false;
  }
  rest.remove_prefix(scheme.size() + 1);
  return true;
}

Error invalid(std::string_view uri, std::string_view why) {
  return makeError("invalid Workload API endpoint \"" + std::string(uri) + "\": " +
                   std::string(why));
}

Result<EndpointAddress> parseUnix(std::string_view uri, std::string_view rest) {
  if (rest.find('?') != std::string_view::npos) {
    return invalid(uri, "a unix: endpoint must not have a query");
  }
  if (rest.find('#') != std::string_view::npos) {
    return invalid(uri, "a unix: endpoint must not have a fragment");
  }
  if (rest.substr(0, 2) == "//") {
    // "unix:///p" has an empty authority; anything between "//" and the next "/" is a
    // host, which the spec forbids (go-spiffe tolerates it; identity-standards §11).
    rest.remove_prefix(2);
    if (!rest.empty() && rest.front() != '/') {
      return invalid(uri, "a unix: endpoint must not have an authority (use unix:///path)");
    }
  }
  if (rest.empty() || rest.front() != '/') {
    return invalid(uri, "a unix: endpoint needs an absolute path (unix:///path or unix:/path)");
  }
  if (rest.size() == 1) {
    return invalid(uri, "a unix: endpoint needs a socket path, not \"/\"");
  }
  // Percent-encoded paths would have to be decoded and re-encoded for gRPC's own target
  // parser; no real socket path needs them, so they are refused rather than guessed at.
  if (rest.find('%') != std::string_view::npos) {
    return invalid(uri, "percent-encoded unix: paths are not supported");
  }
  EndpointAddress address;
  address.kind = EndpointAddress::Kind::kUnix;
  address.path = std::string(rest);
  return address;
}

Result<EndpointAddress> parseTcp(std::string_view uri, std::string_view rest) {
  if (rest.substr(0, 2) != "//") {
    return invalid(uri, "a tcp: endpoint must be tcp://<ip>:<port>");
  }
  rest.remove_prefix(2);
  if (rest.find('?') != std::string_view::npos) {
    return invalid(uri, "a tcp: endpoint must not have a query");
  }
  if (rest.find('#') != std::string_view::npos) {
    return invalid(uri, "a tcp: endpoint must not have a fragment");
  }
  if (rest.find('/') != std::string_view::npos) {
    return invalid(uri, "a tcp: endpoint must not have a path");
  }
  if (rest.find('@') != std::string_view::npos) {
    return invalid(uri, "a tcp: endpoint must not have userinfo");
  }
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return invalid(uri, "unterminated IPv6 literal");
    }
    host = rest.substr(1, close - 1);
    bracketed = true;
    rest.remove_prefix(close + 1);
    if (rest.empty()) {
      return invalid(uri, "a tcp: endpoint needs a port");
    }
    if (rest.front() != ':') {
      return invalid(uri, "unexpected text after the IPv6 literal");
    }
    port_text = rest.substr(1);
  } else {
    const std::size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      return invalid(uri, "a tcp: endpoint needs a port");
    }
    host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
  }
  if (host.empty()) {
    return invalid(uri, "a tcp: endpoint needs an IP address");
  }
  // IP literals only: a name would need DNS, and the endpoint's only authentication is
  // the caller's network position (identity-standards §4.2).
  EndpointAddress address;
  address.kind = EndpointAddress::Kind::kTcp;
  address.host = std::string(host);
  unsigned char buf[16];
  if (bracketed) {
    if (inet_pton(AF_INET6, address.host.c_str(), buf) != 1) {
      return invalid(uri, "the host must be an IP address (no DNS names, no zone IDs)");
    }
  } else if (inet_pton(AF_INET, address.host.c_str(), buf) != 1) {
    return invalid(uri, host.find(':') != std::string_view::npos
                            ? "an IPv6 address must be in brackets"
                            : "the host must be an IP address (no DNS names)");
  }
  if (port_text.empty()) {
    return invalid(uri, "a tcp: endpoint needs a port");
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return invalid(uri, "the port must be a number from 1 to 65535");
  }
  address.port = static_cast<std::uint16_t>(port);
  return address;
}

}  // namespace

std::string EndpointAddress::grpcTarget() const {
  switch (kind) {
    case Kind::kUnix:
      return "unix:" + path;
    case Kind::kTcp:
      if (host.find(':') != std::string::npos) {
        return "ipv6:[" + host + "]:" + std::to_string(port);
      }
      return "ipv4:" + host + ":" + std::to_string(port);
  }
  return {};
}

Result<EndpointAddress> parseEndpointAddress(std::string_view uri) {
  std::string_view rest = uri;
  if (consumeScheme(rest, "unix")) return parseUnix(uri, rest);
  if (consumeScheme(rest, "tcp")) return parseTcp(uri, rest);
  if (uri.empty()) return invalid(uri, "empty address");
  return invalid(uri, "the scheme must be unix: or tcp:");
}

}  // namespace warden::workload
