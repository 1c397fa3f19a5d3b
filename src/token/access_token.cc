#include "token/access_token.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/hex.h"
#include "jose/base64url.h"
#include "jose/jws.h"
#include "token/token_memo.h"

namespace warden::token {

struct AccessTokenVerifier::Issuer {
  TokenIssuerConfig config;
  std::shared_ptr<KeySetProvider> keys;
  std::vector<jose::Alg> algs;  // pinned asymmetric algorithms
  bool hs256 = false;
  std::vector<std::string> audiences;  // in force for this target
  std::string typ;                     // lowercase; empty: not checked
  std::string typ_media;               // "application/" + typ
};

namespace {

using nlohmann::json;

std::atomic<std::uint64_t> next_scope{1};

const EVP_MD* sha256Md() {
  // Fetched once: with EVP_sha256() every EVP_Digest call looks the implementation up in
  // the provider store again (under its lock), and this digest runs on every request.
  // Never freed (process lifetime).
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// False only if OpenSSL fails, and then the caller must not use the digest as a cache key:
// two tokens sharing a made-up key would share a verification.
bool sha256(std::string_view bytes, TokenDigest& out) {
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, sha256Md(), nullptr) != 1 ||
      len != out.size()) {
    ERR_clear_error();
    return false;
  }
  return true;
}

std::string hexSha256(std::string_view bytes) {
  TokenDigest digest{};
  if (!sha256(bytes, digest)) return {};
  std::string out;
  appendHex(out, digest.data(), digest.size());
  return out;
}

// Attacker text (kid, iss, typ) headed for logs: printable ASCII, truncated.
std::string printable(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out;
  for (const char c : text.substr(0, kMax)) out += (c >= 0x20 && c < 0x7F && c != '"') ? c : '?';
  if (text.size() > kMax) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return out;
}

// RFC 6750 §3.1 error_description: fixed texts, so nothing needs escaping and no detail
// leaks to the caller.
std::string_view description(std::string_view code) {
  if (code == reason::kTokenExpired) return "The access token expired";
  if (code == reason::kTokenNotYetValid) return "The access token is not valid yet";
  if (code == reason::kWrongIssuer) return "The access token issuer is not accepted";
  if (code == reason::kWrongAudience) return "The access token audience is not accepted";
  if (code == reason::kBadSignature) return "The access token signature is invalid";
  if (code == reason::kUnknownKey) return "The access token signing key is unknown";
  if (code == reason::kWrongTokenType) return "The token is not an access token";
  if (code == reason::kAlgNotAllowed) return "The access token algorithm is not allowed";
  if (code == reason::kTokenTooLarge) return "The access token is too large";
  if (code == reason::kTokenNotBound) {
    return "The access token is not bound to this client certificate";
  }
  return "The access token is malformed or not acceptable";
}

TokenVerdict deny(std::string_view code, std::string detail, int status = 401) {
  TokenVerdict v;
  v.ok = false;
  v.http_status = status;
  v.reason = std::string(code);
  v.detail = std::move(detail);
  if (status == 401) {
    v.www_authenticate = "Bearer error=\"invalid_token\", error_description=\"" +
                         std::string(description(code)) + "\"";
  }
  return v;
}

// RFC 7519 §2 NumericDate: an integer or a (possibly fractional) number of seconds. Values
// that do not fit comfortably in int64 are refused rather than converted (a double cast out
// of range is undefined behaviour).
enum class DateState { kAbsent, kValid, kInvalid };
DateState numericDate(const json& payload, const char* name, std::int64_t& out) {
  const auto it = payload.find(name);
  if (it == payload.end()) return DateState::kAbsent;
  if (it->is_number_integer()) {
    out = it->get<std::int64_t>();
    return DateState::kValid;
  }
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    out = value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 2)
              ? std::numeric_limits<std::int64_t>::max() / 2
              : static_cast<std::int64_t>(value);
    return DateState::kValid;
  }
  if (it->is_number_float()) {
    const double value = it->get<double>();
    constexpr double kLimit = 4.0e18;
    if (!std::isfinite(value) || value > kLimit || value < -kLimit) return DateState::kInvalid;
    out = static_cast<std::int64_t>(value);
    return DateState::kValid;
  }
  return DateState::kInvalid;
}

// The exact name first (namespaced claims such as "https://example.com/roles" contain
// dots), then the name as a dotted path ("realm_access.roles").
const json* findClaim(const json& payload, const std::string& name) {
  if (const auto it = payload.find(name); it != payload.end()) return &*it;
  if (name.find('.') == std::string::npos) return nullptr;
  const json* current = &payload;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t dot = std::min(name.find('.', start), name.size());
    if (!current->is_object()) return nullptr;
    const auto it = current->find(name.substr(start, dot - start));
    if (it == current->end()) return nullptr;
    current = &*it;
    start = dot + 1;
  }
  return current;
}

// An array of strings or a space-separated string; other shapes grant nothing.
void appendWords(const json* value, std::vector<std::string>& out) {
  if (value == nullptr) return;
  if (value->is_array()) {
    for (const auto& item : *value) {
      if (item.is_string() && !item.get_ref<const std::string&>().empty()) {
        out.push_back(item.get<std::string>());
      }
    }
  } else if (value->is_string()) {
    const std::string& text = value->get_ref<const std::string&>();
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t space = std::min(text.find(' ', start), text.size());
      if (space > start) out.push_back(text.substr(start, space - start));
      start = space + 1;
    }
  }
}

std::string stringClaim(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// alg none and a few malformed shapes deserve a sharper reason than "malformed"; this
// runs only after parseCompact has already refused the token.
bool claimsAlgNone(std::string_view token) {
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos) return false;
  const auto header_text = jose::base64UrlDecode(token.substr(0, dot));
  if (!header_text) return false;
  auto header = jose::parseJsonNoDuplicates(*header_text);
  if (!header) return false;
  const auto alg = header->find("alg");
  return alg != header->end() && alg->is_string() &&
         lower(alg->get_ref<const std::string&>()) == "none";
}

bool verifyHs256(const jose::CompactJws& jws, const std::string& secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(jws.signing_input.data()),
           jws.signing_input.size(), mac, &len) == nullptr) {
    ERR_clear_error();
    return false;
  }
  return jws.signature.size() == len && CRYPTO_memcmp(jws.signature.data(), mac, len) == 0;
}

}  // namespace

std::string certificateSha256(X509* cert) {
  if (cert == nullptr) return {};
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) {
    ERR_clear_error();
    return {};
  }
  TokenDigest digest{};
  const bool hashed = sha256(
      std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len)), digest);
  OPENSSL_free(der);
  if (!hashed) return {};
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::optional<std::string_view> bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  // ASCII case folding by hand: this runs on every request, and std::tolower goes through
  // the C locale per character. `c | 0x20` folds exactly the letters, and kScheme is all
  // letters, so no other byte can match.
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if ((authorization[i] | 0x20) != kScheme[i]) return std::nullopt;
  }
  std::string_view rest = authorization.substr(kScheme.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  // Trailing whitespace is the header framing's (RFC 9110 §5.5), not the token's.
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  return rest;
}

Result<std::unique_ptr<const AccessTokenVerifier>> AccessTokenVerifier::create(
    const TokenRequirements& requirements, const std::vector<IssuerKeys>& issuers,
    std::shared_ptr<VerifiedTokenCache> cache) {
  std::vector<TokenIssuerConfig> configs;
  configs.reserve(issuers.size());
  for (const auto& issuer : issuers) configs.push_back(issuer.config);
  if (auto st = validateTokenRequirements(requirements, configs, "token"); !st) return st.error();

  std::unique_ptr<AccessTokenVerifier> verifier(new AccessTokenVerifier());
  for (const std::string& name : requirements.issuers) {
    const auto it = std::find_if(issuers.begin(), issuers.end(),
                                 [&](const IssuerKeys& k) { return k.config.issuer == name; });
    if (auto st = validateIssuerConfig(it->config, "token_issuer \"" + name + "\""); !st) {
      return st.error();
    }
    auto compiled = std::make_unique<Issuer>();
    compiled->config = it->config;
    compiled->keys = it->keys;
    for (const std::string& alg : it->config.algorithms) {
      if (alg == "HS256") {
        compiled->hs256 = true;
      } else if (const auto parsed = jose::algFromName(alg)) {
        compiled->algs.push_back(*parsed);
      }
    }
    if (!compiled->algs.empty() && compiled->keys == nullptr) {
      return Error{"token_issuer \"" + name + "\": no key source for its " +
                   std::string(jose::algName(compiled->algs.front())) + " keys"};
    }
    compiled->audiences =
        requirements.audiences.empty() ? it->config.audiences : requirements.audiences;
    if (!it->config.require_typ.empty()) {
      compiled->typ = lower(it->config.require_typ);
      compiled->typ_media = "application/" + compiled->typ;
    }
    verifier->issuers_.push_back(std::move(compiled));
  }
  verifier->requirements_ = requirements;
  verifier->cache_ = std::move(cache);
  verifier->scope_ = next_scope.fetch_add(1);
  return std::unique_ptr<const AccessTokenVerifier>(std::move(verifier));
}

AccessTokenVerifier::~AccessTokenVerifier() = default;

bool AccessTokenVerifier::keysUnchanged(const CachedToken& cached) const {
  // Tag 0: HS256, which depends on configuration only, and configuration never changes
  // under us.
  for (const auto& issuer : issuers_) {
    if (issuer->config.issuer != cached.token->issuer) continue;
    if (cached.tag == 0 || (issuer->keys != nullptr && issuer->keys->generation() == cached.tag)) {
      return true;
    }
  }
  return false;
}

TokenVerdict AccessTokenVerifier::verify(std::string_view token, const CallerBinding& caller,
                                         std::chrono::system_clock::time_point now,
                                         TokenMemo* memo) const {
  if (token.empty()) {
    TokenVerdict v;
    v.http_status = 401;
    v.reason = std::string(reason::kTokenMissing);
    // RFC 6750 §3.1: no error code when the request carried no authentication at all.
    v.www_authenticate = "Bearer";
    v.detail = "no bearer token";
    return v;
  }
  if (token.size() > kMaxTokenBytes) {
    return deny(reason::kTokenTooLarge, "token of " + std::to_string(token.size()) +
                                            " bytes exceeds " + std::to_string(kMaxTokenBytes));
  }
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (cache_ == nullptr) memo = nullptr;  // the memo follows the cache's rules
  // Read before the lookup: a clear() after it makes the memo filled below stale.
  const std::uint64_t epoch = memo != nullptr ? cache_->epoch() : 0;
  if (memo != nullptr && memo->entry.token && memo->scope == scope_ &&
      memo->cache_epoch == epoch && now_s < memo->expires_at_s &&
      // Not a secret comparison (no constant time needed, and CRYPTO_memcmp's byte loop
      // cost more than the hash): both sides are bytes this connection's peer sent.
      std::string_view(memo->token) == token && keysUnchanged(memo->entry)) {
    return bind(memo->entry.token, caller, true);
  }
  TokenDigest digest{};
  const bool cacheable = cache_ != nullptr && sha256(token, digest);
  if (cacheable) {
    if (auto hit = cache_->find(CacheKey{digest, scope_}, now_s)) {
      // Valid only while the issuer's key set is the one that verified it.
      if (keysUnchanged(*hit)) {
        if (memo != nullptr) {
          memo->token.assign(token);
          memo->entry = *hit;
          memo->scope = scope_;
          memo->cache_epoch = epoch;
          memo->expires_at_s = hit->token->expires_at;
        }
        return bind(std::move(hit->token), caller, true);
      }
    }
  }
  TokenVerdict verdict = verifyUncached(token, cacheable ? &digest : nullptr, now_s);
  if (!verdict.ok) return verdict;
  return bind(std::move(verdict.token), caller, false);
}

TokenVerdict AccessTokenVerifier::verifyUncached(std::string_view token, const TokenDigest* digest,
                                                 std::int64_t now_s) const {
  auto parsed = jose::parseCompact(token, kMaxTokenBytes);
  if (!parsed) {
    if (claimsAlgNone(token)) {
      return deny(reason::kAlgNotAllowed, "alg none (unsigned token) is never accepted");
    }
    return deny(reason::kInvalidToken, "malformed token: " + parsed.error().message);
  }
  const jose::CompactJws& jws = *parsed;
  const json& header = jws.header;
  const json& payload = jws.payload;

  // RFC 8725 §3.10: keys and key locators named by the token are the attacker's choice;
  // fetching them would be an SSRF and trusting them would let anyone sign.
  for (const char* name : {"jku", "x5u", "jwk"}) {
    if (header.contains(name)) {
      return deny(reason::kInvalidToken,
                  std::string("header carries \"") + name + "\"; tokens never choose their key");
    }
  }
  if (header.contains("cty")) {
    return deny(reason::kInvalidToken, "header carries \"cty\"; nested tokens are not accepted");
  }

  const auto iss = payload.find("iss");
  if (iss == payload.end() || !iss->is_string()) {
    return deny(reason::kWrongIssuer, "iss missing or not a string");
  }
  const std::string& iss_text = iss->get_ref<const std::string&>();
  const Issuer* issuer = nullptr;
  for (const auto& candidate : issuers_) {
    if (candidate->config.issuer == iss_text) issuer = candidate.get();
  }
  if (issuer == nullptr) {
    return deny(reason::kWrongIssuer, "iss \"" + printable(iss_text) + "\" is not accepted here");
  }
  const TokenIssuerConfig& config = issuer->config;

  // parseCompact guarantees a string alg; checked again rather than trusted, since a
  // missing member here would be undefined behaviour, not an exception.
  const auto alg_member = header.find("alg");
  if (alg_member == header.end() || !alg_member->is_string()) {
    return deny(reason::kInvalidToken, "alg missing");
  }
  const std::string& alg_text = alg_member->get_ref<const std::string&>();
  const bool is_hs256 = alg_text == "HS256";
  std::optional<jose::Alg> alg;
  if (is_hs256) {
    if (!issuer->hs256) {
      return deny(reason::kAlgNotAllowed, "alg HS256 is not pinned for " + config.issuer);
    }
  } else {
    alg = jose::algFromName(alg_text);
    if (!alg || std::find(issuer->algs.begin(), issuer->algs.end(), *alg) == issuer->algs.end()) {
      return deny(reason::kAlgNotAllowed,
                  "alg \"" + printable(alg_text) + "\" is not pinned for " + config.issuer);
    }
  }

  if (!issuer->typ.empty()) {
    const auto typ = header.find("typ");
    if (typ == header.end() || !typ->is_string()) {
      return deny(reason::kWrongTokenType, "typ missing; " + config.require_typ + " required");
    }
    const std::string typ_text = lower(typ->get_ref<const std::string&>());
    if (typ_text != issuer->typ && typ_text != issuer->typ_media) {
      return deny(reason::kWrongTokenType, "typ \"" +
                                               printable(typ->get_ref<const std::string&>()) +
                                               "\"; " + config.require_typ + " required");
    }
  }

  std::string kid;
  std::uint64_t generation = 0;
  if (const auto kid_it = header.find("kid"); kid_it != header.end()) {
    if (!kid_it->is_string()) return deny(reason::kInvalidToken, "kid is not a string");
    kid = kid_it->get<std::string>();
  }
  if (is_hs256) {
    if (!verifyHs256(jws, config.hs256_secret)) {
      return deny(reason::kBadSignature, "HS256 signature does not verify");
    }
  } else {
    if (kid.empty()) return deny(reason::kInvalidToken, "kid missing");
    if (kid.size() > kMaxKidBytes) {
      // No key set holds such a kid; asking for a refetch would only feed an attacker.
      return deny(reason::kUnknownKey, "kid of " + std::to_string(kid.size()) + " bytes");
    }
    const std::shared_ptr<const KeySet> keys = issuer->keys->current();
    if (keys == nullptr) {
      issuer->keys->requestRefresh();
      return deny(reason::kJwksUnavailable, "no keys obtained yet for " + config.issuer, 503);
    }
    const VerificationKey* key = keys->find(kid);
    if (key == nullptr) {
      // Maybe a key published since the last fetch (OIDC Core §10.1.1): the source
      // refetches, at most once per interval; this request still fails.
      issuer->keys->requestRefresh();
      return deny(reason::kUnknownKey, "kid \"" + printable(kid) + "\" is not in the key set of " +
                                           config.issuer + " (" + std::to_string(keys->size()) +
                                           " keys)");
    }
    if ((key->alg && *key->alg != *alg) || !jose::keyFitsAlg(key->key.get(), *alg)) {
      return deny(reason::kAlgNotAllowed, "alg " + alg_text + " does not fit key \"" +
                                              printable(kid) + "\" (" + key->kty +
                                              (key->alg ? ", published for " +
                                                              std::string(jose::algName(*key->alg))
                                                        : std::string()) +
                                              ")");
    }
    if (auto st = jose::verify(jws, *alg, key->key.get()); !st) {
      return deny(reason::kBadSignature, st.message() + " (kid \"" + printable(kid) + "\")");
    }
    generation = keys->generation();
  }

  // Only now is the payload the issuer's word.
  const std::int64_t skew = config.clock_skew.count();
  std::int64_t exp = 0;
  switch (numericDate(payload, "exp", exp)) {
    case DateState::kAbsent:
      return deny(reason::kInvalidToken, "exp missing");
    case DateState::kInvalid:
      return deny(reason::kInvalidToken, "exp is not a NumericDate");
    case DateState::kValid:
      break;
  }
  if (now_s - skew >= exp) {
    return deny(reason::kTokenExpired, "expired " + std::to_string(now_s - exp) + " s ago");
  }
  for (const char* name : {"nbf", "iat"}) {
    std::int64_t value = 0;
    const DateState state = numericDate(payload, name, value);
    if (state == DateState::kInvalid) {
      return deny(reason::kInvalidToken, std::string(name) + " is not a NumericDate");
    }
    if (state == DateState::kValid && value > now_s + skew) {
      return deny(reason::kTokenNotYetValid,
                  std::string(name) + " is " + std::to_string(value - now_s) + " s in the future");
    }
  }

  auto verified = std::make_shared<VerifiedToken>();
  verified->claims = payload;
  const auto aud = payload.find("aud");
  if (aud == payload.end()) return deny(reason::kWrongAudience, "aud missing");
  if (aud->is_string()) {
    verified->audiences.push_back(aud->get<std::string>());
  } else if (aud->is_array() && !aud->empty() &&
             std::all_of(aud->begin(), aud->end(), [](const json& a) { return a.is_string(); })) {
    for (const auto& a : *aud) verified->audiences.push_back(a.get<std::string>());
  } else {
    return deny(reason::kInvalidToken, "aud is not a string or a non-empty array of strings");
  }
  const bool audience_ok = std::any_of(
      verified->audiences.begin(), verified->audiences.end(), [&](const std::string& a) {
        return std::find(issuer->audiences.begin(), issuer->audiences.end(), a) !=
               issuer->audiences.end();
      });
  if (!audience_ok) {
    return deny(reason::kWrongAudience,
                "aud \"" + printable(verified->audiences.front()) + "\"" +
                    (verified->audiences.size() > 1
                         ? " (+" + std::to_string(verified->audiences.size() - 1) + " more)"
                         : std::string()) +
                    " is not accepted here");
  }
  for (const std::string& name : config.required_claims) {
    const auto it = payload.find(name);
    if (it == payload.end() || it->is_null()) {
      return deny(reason::kInvalidToken, "required claim \"" + printable(name) + "\" missing");
    }
  }
  if (const auto sub = payload.find("sub"); sub != payload.end()) {
    if (!sub->is_string()) return deny(reason::kInvalidToken, "sub is not a string");
    verified->subject = sub->get<std::string>();
  }

  verified->issuer = iss_text;
  for (const char* name : {"azp", "appid", "client_id"}) {
    std::string value = stringClaim(payload, name);
    if (!value.empty()) {
      verified->client_id = std::move(value);
      verified->client_id_claim = name;
      break;
    }
  }
  appendWords(findClaim(payload, config.roles_claim), verified->roles);
  for (const char* name : {"scp", "scope"}) {
    if (const auto it = payload.find(name); it != payload.end()) {
      appendWords(&*it, verified->scopes);
    }
  }
  verified->expires_at = exp;
  std::string jti = stringClaim(payload, "jti");
  if (jti.empty()) jti = stringClaim(payload, "uti");  // Entra's token identifier
  if (!jti.empty()) verified->jti_digest = hexSha256(jti);
  if (const auto act = payload.find("act"); act != payload.end() && act->is_object()) {
    verified->actor_subject = stringClaim(*act, "sub");
  }
  if (const auto cnf = payload.find("cnf"); cnf != payload.end() && cnf->is_object()) {
    if (auto decoded = jose::base64UrlDecode(stringClaim(*cnf, "x5t#S256"));
        decoded && decoded->size() == 32) {
      verified->cnf_x5t_s256 = std::move(*decoded);
    }
  }
  verified->alg = alg_text;
  verified->kid = kid;
  for (const auto& a : verified->audiences) {
    verified->audiences_csv.append(verified->audiences_csv.empty() ? "" : ",").append(a);
  }
  for (const auto& r : verified->roles) {
    verified->roles_csv.append(verified->roles_csv.empty() ? "" : ",").append(r);
  }
  renderAuditMembers(*verified);
  renderHeaderLines(*verified);

  std::shared_ptr<const VerifiedToken> result = std::move(verified);
  if (digest != nullptr) {
    cache_->insert(CacheKey{*digest, scope_}, CachedToken{result, generation}, exp, now_s);
  }
  TokenVerdict v;
  v.ok = true;
  v.http_status = 200;
  v.token = std::move(result);
  return v;
}

TokenVerdict AccessTokenVerifier::bind(std::shared_ptr<const VerifiedToken> token,
                                       const CallerBinding& caller, bool from_cache) const {
  TokenVerdict v;
  switch (requirements_.binding) {
    case BindingMode::kNone:
      break;
    case BindingMode::kSubToSpiffe: {
      const std::string& claim = requirements_.binding_claim;
      std::string_view value;
      if (claim == "sub") {
        value = token->subject;
      } else if (claim == "client_id" || claim == token->client_id_claim) {
        value = token->client_id;
      }
      // A token bound to a SPIFFE ID is not a bearer token: someone else holding it is
      // authenticated but not the party it was issued to, hence 403 rather than 401.
      if (caller.spiffe_id.empty()) {
        v = deny(reason::kTokenNotBound, "the caller has no SPIFFE ID to bind to", 403);
      } else if (value.empty()) {
        v = deny(reason::kTokenNotBound, "the token has no " + claim + " to bind", 403);
      } else if (value != caller.spiffe_id) {
        const auto mapped = requirements_.client_ids.find(std::string(value));
        if (mapped == requirements_.client_ids.end() || mapped->second != caller.spiffe_id) {
          v = deny(reason::kTokenNotBound,
                   claim + " \"" + printable(value) + "\" is not bound to caller " +
                       printable(caller.spiffe_id),
                   403);
        }
      }
      break;
    }
    case BindingMode::kCnfX5t:
      // RFC 8705 §3 rejects a mismatch as invalid_token; Warden answers 403 like the
      // subject binding (the caller is authenticated, the token is someone else's) and
      // keeps the invalid_token challenge.
      if (token->cnf_x5t_s256.empty()) {
        v = deny(reason::kTokenNotBound, "the token has no cnf.x5t#S256", 403);
      } else if (caller.cert_sha256.size() != token->cnf_x5t_s256.size()) {
        v = deny(reason::kTokenNotBound, "the caller presented no certificate", 403);
      } else if (CRYPTO_memcmp(caller.cert_sha256.data(), token->cnf_x5t_s256.data(),
                               token->cnf_x5t_s256.size()) != 0) {
        v = deny(reason::kTokenNotBound,
                 "cnf.x5t#S256 does not match the caller's certificate", 403);
      }
      break;
  }
  if (v.reason.empty()) {
    v.ok = true;
    v.http_status = 200;
  }
  v.token = std::move(token);
  v.from_cache = from_cache;
  return v;
}

TokenVerdict checkRoles(const VerifiedToken& token, const std::vector<std::string>& required) {
  TokenVerdict v;
  for (const std::string& role : required) {
    if (std::find(token.roles.begin(), token.roles.end(), role) == token.roles.end()) {
      v.http_status = 403;
      v.reason = std::string(reason::kInsufficientRoles);
      // RFC 6750 §3.1: the token is fine, its privileges are not.
      v.www_authenticate =
          "Bearer error=\"insufficient_scope\", error_description=\"The access token lacks a "
          "required role\"";
      v.detail = "role \"" + printable(role) + "\" missing";
      return v;
    }
  }
  v.ok = true;
  v.http_status = 200;
  return v;
}

TokenVerdict checkClaims(const VerifiedToken& token,
                         const std::vector<std::pair<std::string, std::string>>& required) {
  TokenVerdict v;
  for (const auto& [name, value] : required) {
    const auto it = token.claims.find(name);
    bool ok = false;
    if (it != token.claims.end()) {
      if (it->is_string()) {
        ok = it->get_ref<const std::string&>() == value;
      } else if (it->is_array()) {
        ok = std::any_of(it->begin(), it->end(), [&](const json& element) {
          return element.is_string() && element.get_ref<const std::string&>() == value;
        });
      }
    }
    if (!ok) {
      v.http_status = 403;
      v.reason = std::string(reason::kClaimMismatch);
      v.www_authenticate =
          "Bearer error=\"insufficient_scope\", error_description=\"The access token lacks a "
          "required claim\"";
      v.detail = "claim \"" + printable(name) + "\" does not carry \"" + printable(value) + "\"";
      return v;
    }
  }
  v.ok = true;
  v.http_status = 200;
  return v;
}

}  // namespace warden::token
