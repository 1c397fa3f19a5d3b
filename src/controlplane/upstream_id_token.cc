#include "controlplane/upstream_id_token.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "controlplane/role_mapping.h"

namespace warden::controlplane {
namespace {

constexpr std::size_t kMaxSubjectBytes = 256;

bool printable(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// A claim that is a non-empty string, or "".
std::string stringClaim(const nlohmann::json& claims, const std::string& name) {
  const auto it = claims.find(name);
  if (it == claims.end() || !it->is_string())
    return {};
  return it->get<std::string>();
}

}  // namespace

Status checkIdToken(const token::VerifiedToken& t, const IdTokenExpectations& e) {
  // Item 7: the algorithm the provider says it signs ID tokens with.
  if (std::find(e.algorithms.begin(), e.algorithms.end(), t.alg) == e.algorithms.end()) {
    return Error{"alg " + t.alg +
                 " is not among the provider's id_token_signing_alg_values_supported"};
  }
  // Item 3 (again, independent of the verifier's configuration).
  if (std::find(t.audiences.begin(), t.audiences.end(), e.client_id) == t.audiences.end()) {
    return Error{"aud does not contain our client_id"};
  }
  // Items 4 and 5: with several audiences azp must name us; when present it must anyway.
  const auto azp = t.claims.find("azp");
  if (azp != t.claims.end()) {
    if (!azp->is_string() || azp->get<std::string>() != e.client_id) {
      return Error{"azp is not our client_id"};
    }
  } else if (t.audiences.size() > 1) {
    return Error{"several audiences and no azp"};
  }
  // OIDC Core §2: sub is REQUIRED.
  if (stringClaim(t.claims, "sub").empty())
    return Error{"sub missing"};
  // Item 10: iat is REQUIRED; a token issued long ago was not issued for this sign-in.
  const auto iat = t.claims.find("iat");
  if (iat == t.claims.end() || !iat->is_number())
    return Error{"iat missing"};
  const auto issued = iat->get<double>();
  if (issued < static_cast<double>(e.now - e.max_age.count() - e.skew.count())) {
    return Error{"iat is more than " + std::to_string(e.max_age.count()) + " s old"};
  }
  // Item 11: the nonce we sent, so a token minted for another sign-in cannot be injected.
  const std::string nonce = stringClaim(t.claims, "nonce");
  if (nonce.empty())
    return Error{"nonce missing"};
  if (nonce.size() != e.nonce.size() ||
      CRYPTO_memcmp(nonce.data(), e.nonce.data(), nonce.size()) != 0) {
    return Error{"nonce does not match the one sent"};
  }
  return {};
}

Result<std::string> upstreamSubject(const nlohmann::json& claims,
                                    const SignInProviderConfig& provider) {
  std::string value;
  std::string from;
  if (!provider.subject_claim.empty()) {
    from = provider.subject_claim;
    value = stringClaim(claims, from);
  } else {
    from = "preferred_username";
    value = stringClaim(claims, from);
    if (value.empty()) {
      from = "sub";
      value = stringClaim(claims, from);
    }
  }
  if (value.empty())
    return Error{"the ID token has no " + from + " for the subject"};
  if (value.size() > kMaxSubjectBytes || !printable(value)) {
    return Error{"the ID token's " + from + " is not printable text of at most 256 bytes"};
  }
  return provider.name + ":" + value;
}

Role upstreamRole(const token::VerifiedToken& t, const SignInProviderConfig& provider) {
  return roleFromClaimValues(t.roles, provider.admin_values, provider.developer_values,
                             provider.viewer_values);
}

}  // namespace warden::controlplane
