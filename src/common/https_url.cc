#include "common/https_url.h"

#include <boost/url/parse.hpp>

#include "common/url_port.h"

namespace warden {

Status validateHttpsUrl(std::string_view url) {
  // Boost.URL gives a proper parse; a prefix check would accept "https://a@b" or
  // "https://h:99999". parse_uri (not parse_absolute_uri) so that a fragment gets its own
  // message below.
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return Error{"must be an absolute https URL"};
  if (parsed->scheme_id() != boost::urls::scheme::https) {
    // Relying parties fetch keys from these URLs; over http anyone on the path could
    // substitute them.
    return Error{"must use https"};
  }
  if (parsed->has_userinfo()) return Error{"must not contain userinfo"};
  if (parsed->has_query() || parsed->has_fragment()) {
    return Error{"must not contain a query or fragment"};
  }
  if (parsed->host_type() == boost::urls::host_type::none || parsed->encoded_host().empty()) {
    return Error{"must name a host"};
  }
  if (parsed->has_port() && !parseUrlPort(parsed->port())) return Error{"has an invalid port"};
  return {};
}

Status validateIssuerUrl(std::string_view issuer) {
  if (auto st = validateHttpsUrl(issuer); !st) return st;
  if (issuer.back() == '/') return Error{"must not end with '/'"};
  return {};
}

}  // namespace warden
