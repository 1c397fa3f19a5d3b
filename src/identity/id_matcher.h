// Structured matchers for SPIFFE IDs: allow-lists (layer 1) and caller selectors (layer 2).
//
// Three kinds, deliberately without free-form globs (a prefix glob such as
// "spiffe://td/agent*" silently admits "spiffe://td/agent-evil"):
//   exact         spiffe://example.org/ns/prod/sa/report
//   trust domain  every ID in example.org (written `trust_domain: example.org` in config)
//   pattern       spiffe://example.org/ns/*/sa/report  -- `*` is exactly one whole path
//                 segment; the trust domain is always literal; at least one segment.
// Thread-safety: immutable after construction; match() is const and allocation-free.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "identity/spiffe_id.h"

namespace warden::identity {

class IdMatcher {
 public:
  enum class Kind { kExact, kTrustDomain, kPattern };

  static Result<IdMatcher> exact(std::string_view spiffe_id);
  static Result<IdMatcher> trustDomain(std::string_view trust_domain);
  // Accepts an ID with `*` segments; an ID with no `*` becomes an exact matcher.
  static Result<IdMatcher> pattern(std::string_view pattern);

  bool matches(const SpiffeId& id) const;
  Kind kind() const { return kind_; }
  // The text this matcher was built from (for config dumps and explain output).
  const std::string& text() const { return text_; }

 private:
  IdMatcher(Kind kind, std::string text) : kind_(kind), text_(std::move(text)) {}
  Kind kind_;
  std::string text_;                   // exact ID, trust domain, or pattern
  std::string trust_domain_;           // pattern only
  std::vector<std::string> segments_;  // pattern only; "*" = any one segment
};

}  // namespace warden::identity
