#include "ssf/set_verifier.h"

#include <algorithm>
#include <set>

#include "jose/base64url.h"
#include "ssf/claim_reading.h"
#include "ssf/event_parser.h"

namespace warden::ssf {
namespace {

using nlohmann::json;
using detail::printable;

SetError fail(SetErrorCode code, std::string description) {
  return SetError{code, std::move(description)};
}

SetError badRequest(std::string description) {
  return fail(SetErrorCode::kInvalidRequest, std::move(description));
}

// parseCompact refuses an unsecured JWS without saying why; a SET that asks for alg none
// deserves the sharper answer (the signing "key" is what is unacceptable).
bool claimsAlgNone(std::string_view token) {
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos) return false;
  const auto header_text = jose::base64UrlDecode(token.substr(0, dot));
  if (!header_text) return false;
  auto header = jose::parseJsonNoDuplicates(*header_text);
  if (!header) return false;
  const auto alg = header->find("alg");
  return alg != header->end() && alg->is_string() &&
         detail::lower(alg->get_ref<const std::string&>()) == "none";
}

// RFC 8417 §2.3 and identity-standards §9.1: `typ` is required and names a SET. The media
// type may drop its "application/" prefix (RFC 7515 §4.1.9) and compares case-insensitively.
bool isSetTyp(const json& header) {
  const auto typ = header.find("typ");
  if (typ == header.end() || !typ->is_string()) return false;
  const std::string value = detail::lower(typ->get_ref<const std::string&>());
  return value == "secevent+jwt" || value == "application/secevent+jwt";
}

}  // namespace

Result<std::unique_ptr<const SetVerifier>> SetVerifier::create(
    std::vector<Transmitter> transmitters, SetVerifierOptions options) {
  if (transmitters.empty()) return Error{"ssf: no transmitters configured"};
  if (options.max_age.count() <= 0) return Error{"ssf: max_age must be positive"};
  if (options.clock_skew.count() < 0) return Error{"ssf: clock_skew must not be negative"};
  std::set<std::string, std::less<>> issuers;
  for (const Transmitter& t : transmitters) {
    const std::string where = "ssf transmitter \"" + t.issuer + "\"";
    if (t.issuer.empty()) return Error{"ssf transmitter: issuer is empty"};
    if (!issuers.insert(t.issuer).second) return Error{where + ": configured twice"};
    if (t.keys == nullptr) return Error{where + ": no key source"};
    if (t.algorithms.empty()) return Error{where + ": no algorithms allowed"};
    if (t.audiences.empty()) return Error{where + ": no audiences"};
    if (std::any_of(t.audiences.begin(), t.audiences.end(),
                    [](const std::string& a) { return a.empty(); })) {
      return Error{where + ": an audience is empty"};
    }
  }
  std::unique_ptr<SetVerifier> verifier(new SetVerifier());
  verifier->transmitters_ = std::move(transmitters);
  verifier->options_ = options;
  return std::unique_ptr<const SetVerifier>(std::move(verifier));
}

const Transmitter* SetVerifier::find(std::string_view issuer) const {
  for (const Transmitter& t : transmitters_) {
    if (t.issuer == issuer) return &t;
  }
  return nullptr;
}

bool SetVerifier::knowsIssuer(std::string_view issuer) const { return find(issuer) != nullptr; }

std::vector<std::string> SetVerifier::issuers() const {
  std::vector<std::string> out;
  out.reserve(transmitters_.size());
  for (const Transmitter& t : transmitters_) out.push_back(t.issuer);
  return out;
}

VerifyResult SetVerifier::verify(std::string_view compact_jws,
                                 std::chrono::system_clock::time_point now) const {
  if (compact_jws.empty()) return badRequest("the body is empty; a SET was expected");
  auto parsed = jose::parseCompact(compact_jws, kMaxSetBytes);
  if (!parsed) {
    if (claimsAlgNone(compact_jws)) {
      return fail(SetErrorCode::kInvalidKey, "unsecured SETs (alg none) are never accepted");
    }
    return badRequest("not a valid compact JWS: " + parsed.error().message);
  }
  const jose::CompactJws& jws = *parsed;
  const json& header = jws.header;
  const json& payload = jws.payload;

  // Keys come from the transmitter's configured key source only (RFC 8725 §3.10).
  for (const char* name : {"jku", "x5u", "jwk"}) {
    if (header.contains(name)) {
      return badRequest(std::string("header carries \"") + name +
                        "\"; a SET never chooses its key");
    }
  }
  if (header.contains("cty")) {
    return badRequest("header carries \"cty\"; nested SETs are not accepted");
  }
  if (!isSetTyp(header)) {
    const auto typ = header.find("typ");
    return badRequest("typ must be secevent+jwt (RFC 8417 §2.3), got " +
                      (typ != header.end() && typ->is_string()
                           ? "\"" + printable(typ->get_ref<const std::string&>()) + "\""
                           : std::string("none")));
  }

  const auto iss = payload.find("iss");
  if (iss == payload.end() || !iss->is_string()) return badRequest("iss missing or not a string");
  const std::string& issuer_text = iss->get_ref<const std::string&>();
  const Transmitter* transmitter = find(issuer_text);
  if (transmitter == nullptr) {
    return fail(SetErrorCode::kInvalidIssuer,
                "iss \"" + printable(issuer_text) + "\" is not a transmitter of this receiver");
  }

  // parseCompact guarantees a string alg; read again rather than assumed.
  const auto alg_member = header.find("alg");
  if (alg_member == header.end() || !alg_member->is_string()) return badRequest("alg missing");
  const std::string& alg_text = alg_member->get_ref<const std::string&>();
  const std::optional<jose::Alg> alg = jose::algFromName(alg_text);
  if (!alg || std::find(transmitter->algorithms.begin(), transmitter->algorithms.end(), *alg) ==
                  transmitter->algorithms.end()) {
    return fail(SetErrorCode::kInvalidKey,
                "alg \"" + printable(alg_text) + "\" is not allowed for " + transmitter->issuer);
  }
  const auto kid_member = header.find("kid");
  if (kid_member == header.end() || !kid_member->is_string() ||
      kid_member->get_ref<const std::string&>().empty()) {
    return fail(SetErrorCode::kInvalidKey, "kid missing; SETs must name their key");
  }
  const std::string& kid = kid_member->get_ref<const std::string&>();
  if (kid.size() > token::kMaxKidBytes) {
    // No key set holds such a kid; a refetch would only feed whoever sent it.
    return fail(SetErrorCode::kInvalidKey, "kid of " + std::to_string(kid.size()) + " bytes");
  }
  const std::shared_ptr<const token::KeySet> keys = transmitter->keys->current();
  if (keys == nullptr) {
    transmitter->keys->requestRefresh();
    return fail(SetErrorCode::kInvalidKey, "no keys obtained yet for " + transmitter->issuer);
  }
  const token::VerificationKey* key = keys->find(kid);
  if (key == nullptr) {
    // Maybe a key the transmitter published since the last fetch: the source refetches (rate
    // limited) and the transmitter's retry can then succeed.
    transmitter->keys->requestRefresh();
    return fail(SetErrorCode::kInvalidKey,
                "kid \"" + printable(kid) + "\" is not in the key set of " + transmitter->issuer);
  }
  if ((key->alg && *key->alg != *alg) || !jose::keyFitsAlg(key->key.get(), *alg)) {
    return fail(SetErrorCode::kInvalidKey,
                "alg " + alg_text + " does not fit key \"" + printable(kid) + "\" (" + key->kty +
                    ")");
  }
  if (auto st = jose::verify(jws, *alg, key->key.get()); !st) {
    return fail(SetErrorCode::kInvalidKey,
                "signature does not verify with key \"" + printable(kid) + "\"");
  }

  // From here on the payload is the transmitter's word.
  // SSF 1.0 / identity-standards §9.1, RFC 8417 §2.3: no `sub`, no `exp`, so that a SET can
  // never be taken for an ID or access token (and none of those for a SET).
  for (const char* name : {"sub", "exp"}) {
    if (payload.contains(name)) {
      return badRequest(std::string("a SET must not carry \"") + name +
                        "\" (SSF 1.0, RFC 8417 §2.3)");
    }
  }
  SecurityEvent event;
  event.issuer = issuer_text;
  const auto jti = payload.find("jti");
  if (jti == payload.end() || !jti->is_string() || jti->get_ref<const std::string&>().empty()) {
    return badRequest("jti missing or not a non-empty string");
  }
  if (jti->get_ref<const std::string&>().size() > kMaxJtiBytes) {
    return badRequest("jti longer than " + std::to_string(kMaxJtiBytes) + " bytes");
  }
  event.jti = jti->get<std::string>();
  const auto iat = payload.find("iat");
  if (iat == payload.end()) return badRequest("iat missing");
  const auto iat_value = detail::numericDate(*iat);
  if (!iat_value) return badRequest("iat is not a NumericDate");
  event.iat = *iat_value;

  const auto aud = payload.find("aud");
  if (aud == payload.end()) return badRequest("aud missing");
  if (aud->is_string()) {
    event.audience.push_back(aud->get<std::string>());
  } else if (aud->is_array() && !aud->empty() &&
             std::all_of(aud->begin(), aud->end(), [](const json& a) { return a.is_string(); })) {
    for (const auto& a : *aud) event.audience.push_back(a.get<std::string>());
  } else {
    return badRequest("aud is not a string or a non-empty array of strings");
  }
  const auto& accepted = transmitter->audiences;
  if (std::none_of(event.audience.begin(), event.audience.end(), [&](const std::string& a) {
        return std::find(accepted.begin(), accepted.end(), a) != accepted.end();
      })) {
    return fail(SetErrorCode::kInvalidAudience,
                "aud \"" + printable(event.audience.front()) + "\"" +
                    (event.audience.size() > 1
                         ? " (+" + std::to_string(event.audience.size() - 1) + " more)"
                         : std::string()) +
                    " is not this receiver");
  }

  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (event.iat > now_s + options_.clock_skew.count()) {
    return badRequest("iat is " + std::to_string(event.iat - now_s) + " s in the future");
  }
  if (now_s - event.iat > options_.max_age.count()) {
    return badRequest("iat is " + std::to_string(now_s - event.iat) + " s old; SETs older than " +
                      std::to_string(options_.max_age.count()) + " s are not accepted");
  }

  if (const auto txn = payload.find("txn"); txn != payload.end()) {
    if (!txn->is_string()) return badRequest("txn is not a string");
    event.txn = txn->get<std::string>();
  }
  if (const auto toe = payload.find("toe"); toe != payload.end()) {
    const auto value = detail::numericDate(*toe);
    if (!value) return badRequest("toe is not a NumericDate");
    event.toe = *value;
  }
  const auto sub_id = payload.find("sub_id");
  if (sub_id == payload.end()) return badRequest("sub_id missing (required by SSF 1.0)");
  auto subject = parseSubjectId(*sub_id);
  if (!subject) return badRequest(subject.error().message);
  event.subject = std::move(*subject);

  const auto events = payload.find("events");
  if (events == payload.end()) return badRequest("events missing");
  if (auto st = parseEvents(*events, event); !st) return badRequest(st.message());
  return event;
}

}  // namespace warden::ssf
