#include "token/revocations.h"

#include <cmath>

namespace warden::token {

std::shared_ptr<const RevocationSet> RevocationSet::build(const std::vector<Revocation>& revocations) {
  if (revocations.empty()) return nullptr;
  auto set = std::make_shared<RevocationSet>();
  for (const auto& r : revocations) {
    auto [it, inserted] = set->cutoff_.emplace(r.subject, r.issued_before);
    if (!inserted && it->second < r.issued_before) it->second = r.issued_before;
  }
  return set;
}

std::optional<std::int64_t> RevocationSet::issuedBefore(std::string_view subject) const {
  if (subject.empty()) return std::nullopt;
  const auto it = cutoff_.find(subject);
  if (it == cutoff_.end()) return std::nullopt;
  return it->second;
}

std::optional<TokenVerdict> RevocationSet::check(const std::shared_ptr<const VerifiedToken>& token) const {
  if (!token) return std::nullopt;
  const VerifiedToken& t = *token;
  std::string_view subject;
  std::optional<std::int64_t> cutoff;
  for (std::string_view candidate : {std::string_view(t.subject), std::string_view(t.client_id),
                                     std::string_view(t.actor_subject)}) {
    auto found = issuedBefore(candidate);
    if (found && (!cutoff || *found > *cutoff)) {
      cutoff = found;
      subject = candidate;
    }
  }
  if (!cutoff) return std::nullopt;
  // iat was checked by the verifier when present (a NumericDate, not in the future).
  std::optional<std::int64_t> iat;
  if (const auto it = t.claims.find("iat"); it != t.claims.end() && it->is_number()) {
    iat = it->is_number_float() ? static_cast<std::int64_t>(std::floor(it->get<double>()))
                                : it->get<std::int64_t>();
  }
  if (iat && *iat >= *cutoff) return std::nullopt;
  TokenVerdict verdict;
  verdict.ok = false;
  verdict.http_status = 401;
  verdict.reason = std::string(reason::kTokenRevoked);
  verdict.www_authenticate =
      "Bearer error=\"invalid_token\", error_description=\"the token has been revoked\"";
  verdict.detail = "tokens of " + std::string(subject) + " issued before " +
                   std::to_string(*cutoff) + " are revoked; " +
                   (iat ? "this one was issued at " + std::to_string(*iat) : std::string("it has no iat"));
  verdict.token = token;
  return verdict;
}

}  // namespace warden::token
