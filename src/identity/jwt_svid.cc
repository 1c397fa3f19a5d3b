#include "identity/jwt_svid.h"

#include <set>

#include "jose/jws.h"

namespace warden::identity {
namespace {

Result<std::int64_t> numericDate(const nlohmann::json& payload, const char* name, bool required) {
  const auto it = payload.find(name);
  if (it == payload.end()) {
    if (required) return Error{std::string("missing required claim ") + name};
    return std::int64_t{-1};
  }
  if (it->is_number_integer() || it->is_number_unsigned()) return it->get<std::int64_t>();
  if (it->is_number_float()) return static_cast<std::int64_t>(it->get<double>());
  return Error{std::string("claim ") + name + " is not a number"};
}

}  // namespace

Result<ValidatedJwtSvid> validateJwtSvid(std::string_view token,
                                         const std::map<std::string, SpiffeBundle>& bundles,
                                         const JwtSvidCheck& check) {
  auto jws = jose::parseCompact(token);
  if (!jws) return jws.error();
  const auto& header = jws->header;
  static const std::set<std::string> kAllowedHeader = {"alg", "kid", "typ"};
  for (const auto& [name, value] : header.items()) {
    if (!kAllowedHeader.contains(name)) {
      return Error{"header member \"" + name + "\" is not allowed in a JWT-SVID"};
    }
  }
  const auto alg_it = header.find("alg");
  if (alg_it == header.end() || !alg_it->is_string()) return Error{"missing alg"};
  const auto alg = jose::algFromName(alg_it->get<std::string>());
  if (!alg) return Error{"alg " + alg_it->get<std::string>() + " is not allowed for JWT-SVIDs"};
  if (const auto typ = header.find("typ"); typ != header.end()) {
    if (!typ->is_string() || (*typ != "JWT" && *typ != "JOSE")) {
      return Error{"typ must be JWT or JOSE"};
    }
  }
  const auto kid_it = header.find("kid");
  if (kid_it == header.end() || !kid_it->is_string() || kid_it->get<std::string>().empty()) {
    return Error{"missing kid"};
  }
  const auto& payload = jws->payload;
  const auto sub_it = payload.find("sub");
  if (sub_it == payload.end() || !sub_it->is_string()) return Error{"missing sub"};
  auto id = SpiffeId::parse(sub_it->get<std::string>());
  if (!id) return Error{"sub is not a SPIFFE ID: " + id.error().message};
  const auto bundle = bundles.find(std::string(id->trustDomain()));
  if (bundle == bundles.end()) {
    return Error{"no JWT bundle for trust domain " + std::string(id->trustDomain())};
  }
  const std::string kid = kid_it->get<std::string>();
  const JwtAuthority* authority = nullptr;
  for (const auto& a : bundle->second.jwt_authorities) {
    if (a.kid == kid) authority = &a;
  }
  if (authority == nullptr) return Error{"unknown kid"};
  if (!jose::keyFitsAlg(authority->key.get(), *alg)) return Error{"key does not fit alg"};
  if (auto st = jose::verify(*jws, *alg, authority->key.get()); !st) return st.error();

  const std::time_t now = check.now != 0 ? check.now : std::time(nullptr);
  auto exp = numericDate(payload, "exp", true);
  if (!exp) return exp.error();
  if (*exp + check.leeway.count() <= now) return Error{"token expired"};
  auto nbf = numericDate(payload, "nbf", false);
  if (!nbf) return nbf.error();
  if (*nbf >= 0 && *nbf - check.leeway.count() > now) return Error{"token not yet valid"};
  const auto aud = payload.find("aud");
  bool audience_ok = false;
  if (aud == payload.end()) return Error{"missing aud"};
  if (aud->is_string()) {
    audience_ok = *aud == check.audience;
  } else if (aud->is_array() && !aud->empty()) {
    for (const auto& a : *aud) audience_ok = audience_ok || (a.is_string() && a == check.audience);
  } else {
    return Error{"aud must be a string or a non-empty array"};
  }
  if (!audience_ok) return Error{"audience mismatch"};
  return ValidatedJwtSvid{*id, payload};
}

}  // namespace warden::identity
