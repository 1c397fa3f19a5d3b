#include "tokenservice/token_validation.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <set>

#include "identity/jwt_svid.h"
#include "jose/jwk.h"

namespace warden::tokenservice {
namespace {

Result<std::optional<std::int64_t>> numericDate(const nlohmann::json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end()) return std::optional<std::int64_t>{};
  if (it->is_number_integer() || it->is_number_unsigned()) {
    return std::optional<std::int64_t>{it->get<std::int64_t>()};
  }
  if (it->is_number_float()) {
    return std::optional<std::int64_t>{static_cast<std::int64_t>(it->get<double>())};
  }
  return Error{std::string("claim ") + name + " is not a number"};
}

std::string stringClaim(const nlohmann::json& payload, const char* name) {
  const auto it = payload.find(name);
  return it != payload.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// `aud` as a list of strings; an error for any other shape.
Result<std::vector<std::string>> audiences(const nlohmann::json& payload) {
  const auto it = payload.find("aud");
  if (it == payload.end()) return Error{"missing aud"};
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  if (!it->is_array() || it->empty()) return Error{"aud must be a string or a non-empty array"};
  std::vector<std::string> out;
  for (const auto& a : *it) {
    if (!a.is_string()) return Error{"aud holds a non-string value"};
    out.push_back(a.get<std::string>());
  }
  return out;
}

}  // namespace

Result<TokenPeek> peekToken(std::string_view token) {
  auto jws = jose::parseCompact(token);
  if (!jws) return jws.error();
  TokenPeek peek;
  const auto iss = jws->payload.find("iss");
  if (iss != jws->payload.end() && !iss->is_string()) return Error{"iss is not a string"};
  peek.iss = stringClaim(jws->payload, "iss");
  peek.sub = stringClaim(jws->payload, "sub");
  peek.kid = stringClaim(jws->header, "kid");
  peek.names_certificate =
      jws->header.contains("x5t") || jws->header.contains("x5t#S256") || jws->header.contains("x5c");
  return peek;
}

Result<ValidatedSvidToken> validateSvidToken(
    std::string_view token, const std::map<std::string, identity::SpiffeBundle>& bundles,
    const SvidTokenCheck& check) {
  // The audience is checked twice: here on the unverified payload, to pick which accepted
  // value validateJwtSvid should look for, and below on the verified claims.
  auto unverified = jose::parseCompact(token);
  if (!unverified) return unverified.error();
  auto aud = audiences(unverified->payload);
  if (!aud) return aud.error();
  if (aud->size() != 1) {
    return Error{"aud must name this server only (an array with other values is refused)"};
  }
  if (std::find(check.audiences.begin(), check.audiences.end(), aud->front()) ==
      check.audiences.end()) {
    return Error{"aud " + aud->front() + " is not this server's issuer identifier"};
  }
  identity::JwtSvidCheck svid_check;
  svid_check.audience = aud->front();
  svid_check.now = check.now;
  svid_check.leeway = check.leeway;
  auto svid = identity::validateJwtSvid(token, bundles, svid_check);
  if (!svid) return Error{"not a valid JWT-SVID: " + svid.error().message};

  const auto& claims = svid->claims;
  auto verified_aud = audiences(claims);
  if (!verified_aud || *verified_aud != *aud) return Error{"aud changed under verification"};
  if (const auto iss = claims.find("iss"); iss != claims.end()) {
    if (!iss->is_string()) return Error{"iss is not a string"};
    const bool own = !check.own_issuer.empty() && *iss == check.own_issuer;
    if (own && svid->spiffe_id.trustDomain() != check.own_trust_domain) {
      // Signed by a federated trust domain's authority: our issuer URL is not its to use.
      return Error{"iss " + check.own_issuer + " is the JWT-SVID issuer of trust domain " +
                   check.own_trust_domain + ", not of " +
                   std::string(svid->spiffe_id.trustDomain())};
    }
    if (!own && *iss != svid->spiffe_id.str()) {
      return Error{check.own_issuer.empty()
                       ? "iss must equal sub (RFC 7523 §3)"
                       : "iss must equal sub (RFC 7523 §3) or this server's JWT-SVID issuer " +
                             check.own_issuer};
    }
  }
  const std::time_t now = check.now != 0 ? check.now : std::time(nullptr);
  auto exp = numericDate(claims, "exp");
  if (!exp || !*exp) return Error{"exp is required"};
  auto iat = numericDate(claims, "iat");
  if (!iat) return iat.error();
  if (*iat && **iat > now + check.leeway.count()) return Error{"iat is in the future"};
  ValidatedSvidToken out;
  out.spiffe_id = svid->spiffe_id;
  out.exp = static_cast<std::time_t>(**exp);
  out.claims = claims;
  if (check.client_assertion) {
    if (**exp > now + check.max_lifetime.count() + check.leeway.count()) {
      return Error{"exp is too far in the future (at most " +
                   std::to_string(check.max_lifetime.count()) + " s ahead)"};
    }
    out.jti = stringClaim(claims, "jti");
    if (out.jti.empty()) return Error{"jti is required"};
    if (out.jti.size() > 256) return Error{"jti is longer than 256 bytes"};
  }
  return out;
}

Result<std::string> parseDiscoveryDocument(std::string_view json_text,
                                           std::string_view expected_issuer) {
  auto doc = jose::parseJsonNoDuplicates(json_text);
  if (!doc) return Error{"discovery document: " + doc.error().message};
  if (!doc->is_object()) return Error{"discovery document is not a JSON object"};
  const std::string issuer = stringClaim(*doc, "issuer");
  if (issuer != expected_issuer) {
    return Error{"discovery document names issuer \"" + issuer + "\", expected \"" +
                 std::string(expected_issuer) + "\""};
  }
  const std::string jwks_uri = stringClaim(*doc, "jwks_uri");
  auto url = boost::urls::parse_absolute_uri(jwks_uri);
  if (jwks_uri.empty() || !url || url->scheme_id() != boost::urls::scheme::https) {
    return Error{"discovery document: jwks_uri must be an https URL"};
  }
  return jwks_uri;
}

Result<ExternalKeySet> parseJwks(std::string_view json_text, std::string_view issuer) {
  auto doc = jose::parseJsonNoDuplicates(json_text);
  if (!doc) return Error{"JWKS: " + doc.error().message};
  const auto keys = doc->is_object() ? doc->find("keys") : doc->end();
  if (!doc->is_object() || keys == doc->end() || !keys->is_array()) {
    return Error{"JWKS: no keys array"};
  }
  ExternalKeySet out;
  out.issuer = std::string(issuer);
  for (const auto& jwk : *keys) {
    if (!jwk.is_object()) return Error{"JWKS: a key is not an object"};
    const std::string kty = stringClaim(jwk, "kty");
    if (kty != "RSA" && kty != "EC") continue;  // OKP, oct, future types: not ours to use
    if (jwk.contains("use") && jwk["use"] != "sig") continue;
    const std::string kid = stringClaim(jwk, "kid");
    if (kid.empty()) continue;  // unreachable by kid lookup
    auto key = jose::readPublicJwk(jwk);
    if (!key) return Error{"JWKS: key " + kid + ": " + key.error().message};
    ExternalKey k;
    k.key = std::shared_ptr<EVP_PKEY>(key->release(), [](EVP_PKEY* p) { jose::PkeyFree{}(p); });
    if (jwk.contains("alg")) {
      if (!jwk["alg"].is_string()) return Error{"JWKS: key " + kid + ": alg is not a string"};
      k.alg = jose::algFromName(jwk["alg"].get<std::string>());
      // A key published for an algorithm we do not implement can never verify.
      if (!k.alg) continue;
      if (!jose::keyFitsAlg(k.key.get(), *k.alg)) {
        return Error{"JWKS: key " + kid + " does not fit its alg"};
      }
    }
    if (!out.keys.emplace(kid, std::move(k)).second) return Error{"JWKS: duplicate kid " + kid};
  }
  return out;
}

Result<ValidatedExternalToken> validateExternalToken(std::string_view token,
                                                     const ExternalKeySet& keys,
                                                     const ExternalTokenCheck& check) {
  auto jws = jose::parseCompact(token);
  if (!jws) return jws.error();
  const auto& header = jws->header;
  // x5t/x5t#S256 are thumbprints (GitHub sends x5t): hints that select nothing here.
  static const std::set<std::string> kAllowedHeader = {"alg", "kid", "typ", "x5t", "x5t#S256"};
  for (const auto& [name, value] : header.items()) {
    if (!kAllowedHeader.contains(name)) {
      return Error{"header member \"" + name + "\" is not accepted"};
    }
  }
  const std::string alg_name = stringClaim(header, "alg");
  const auto alg = jose::algFromName(alg_name);
  if (!alg || std::find(check.algorithms.begin(), check.algorithms.end(), *alg) ==
                  check.algorithms.end()) {
    return Error{"alg " + alg_name + " is not allowed for issuer " + check.issuer};
  }
  if (const auto typ = header.find("typ"); typ != header.end()) {
    // An access token (at+jwt), a SET (secevent+jwt) or a logout token is not an identity
    // assertion (RFC 8725 §3.11).
    if (!typ->is_string() || (*typ != "JWT" && *typ != "JOSE")) return Error{"typ must be JWT"};
  }
  const std::string kid = stringClaim(header, "kid");
  if (kid.empty()) return Error{"missing kid"};
  const auto key = keys.keys.find(kid);
  if (key == keys.keys.end()) return Error{"unknown kid"};
  if (key->second.alg && *key->second.alg != *alg) return Error{"alg differs from the key's alg"};
  if (!jose::keyFitsAlg(key->second.key.get(), *alg)) return Error{"key does not fit alg"};
  if (auto st = jose::verify(*jws, *alg, key->second.key.get()); !st) return st.error();

  const auto& claims = jws->payload;
  ValidatedExternalToken out;
  // Exact comparison: "https://token.actions.githubusercontent.com/" or " https://..." is
  // another issuer (Entra refuses both too).
  if (!claims.contains("iss") || !claims["iss"].is_string() || claims["iss"] != check.issuer) {
    return Error{"iss does not equal " + check.issuer};
  }
  out.iss = check.issuer;
  out.sub = stringClaim(claims, "sub");
  if (out.sub.empty()) return Error{"sub is required"};
  auto aud = audiences(claims);
  if (!aud) return aud.error();
  out.aud = std::move(*aud);
  const std::time_t now = check.now != 0 ? check.now : std::time(nullptr);
  auto exp = numericDate(claims, "exp");
  if (!exp) return exp.error();
  if (!*exp) return Error{"exp is required"};
  if (**exp + check.leeway.count() <= now) return Error{"token expired"};
  auto nbf = numericDate(claims, "nbf");
  if (!nbf) return nbf.error();
  if (*nbf && **nbf - check.leeway.count() > now) return Error{"token not yet valid"};
  auto iat = numericDate(claims, "iat");
  if (!iat) return iat.error();
  if (*iat && **iat - check.leeway.count() > now) return Error{"iat is in the future"};
  out.exp = static_cast<std::time_t>(**exp);
  out.claims = claims;
  return out;
}

}  // namespace warden::tokenservice
