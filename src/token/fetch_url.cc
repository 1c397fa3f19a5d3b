#include "token/fetch_url.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <charconv>

namespace warden::token {
namespace {

bool validDnsName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
  });
}

}  // namespace

Result<FetchUrl> parseFetchUrl(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return Error{"not a valid URI (" + parsed.error().message() + ")"};
  const boost::urls::url_view& url = *parsed;
  FetchUrl out;
  out.text = std::string(text);
  if (url.scheme_id() == boost::urls::scheme::https) {
    out.tls = true;
  } else if (url.scheme_id() == boost::urls::scheme::http) {
    out.tls = false;
  } else {
    return Error{"the scheme must be https"};
  }
  if (url.has_userinfo()) return Error{"userinfo is not allowed"};
  if (url.has_fragment()) return Error{"a fragment is not allowed"};
  bool loopback = false;
  switch (url.host_type()) {
    case boost::urls::host_type::name: {
      out.host = url.host_name();
      if (!validDnsName(out.host)) return Error{"invalid host name \"" + out.host + "\""};
      std::transform(out.host.begin(), out.host.end(), out.host.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      });
      out.host_header = out.host;
      break;
    }
    case boost::urls::host_type::ipv4: {
      const auto address = url.host_ipv4_address();
      out.host = address.to_string();
      out.host_is_ip = true;
      out.host_header = out.host;
      loopback = address.is_loopback();
      break;
    }
    case boost::urls::host_type::ipv6: {
      const auto address = url.host_ipv6_address();
      out.host = address.to_string();
      out.host_is_ip = true;
      out.host_header = "[" + out.host + "]";
      loopback = address.is_loopback();
      break;
    }
    default:
      return Error{"a host name or IP address is required"};
  }
  // Keys fetched in the clear from anywhere but this machine could be swapped on the way;
  // a name such as "localhost" is not enough, since resolution is outside our control.
  if (!out.tls && !loopback) {
    return Error{"plain http is allowed only to a loopback IP address (127.0.0.1, ::1)"};
  }
  const std::uint16_t default_port = out.tls ? 443 : 80;
  out.port_number = default_port;
  out.port = std::to_string(default_port);
  if (url.has_port() && !url.port().empty()) {
    const std::string_view port = url.port();
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Error{"invalid port \"" + std::string(port) + "\""};
    }
    out.port_number = static_cast<std::uint16_t>(value);
    out.port = std::to_string(value);
    if (value != default_port) out.host_header += ":" + out.port;
  }
  out.target = url.encoded_path().empty() ? "/" : std::string(url.encoded_path());
  if (url.has_query()) out.target += "?" + std::string(url.encoded_query());
  return out;
}

}  // namespace warden::token
