// ETags for the store's versioned objects, and the If-Match header they are checked with.
//
// An ETag is strong and names the object and its version: etagFor("policy",
// "budget-backend", 7) is "policy-budget-backend-v7" in double quotes. Kind and id are
// part of it so a tag copied from one object can never match another object's version.
//
// How the API turns If-Match into the store's expected version (RFC 9110 §13.1.1):
//   - one ETag of this object: expected = etagVersion(...); the store compares it inside
//     its transaction, so a concurrent change yields kConflict (412), never a lost update;
//   - `*`: any current version will do: pass the version just read;
//   - several ETags: ifMatchAccepts(header, etagFor(current)) picks the current one, else 412.
// Weak ETags (W/"...") never match under If-Match's strong comparison; they are parsed and
// dropped.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace warden::controlplane {

// The quoted ETag, e.g. "\"agent-report-v3\"".
std::string etagFor(std::string_view kind, std::string_view id, std::uint64_t version);

// The version an ETag made by etagFor(kind, id, version) names; nullopt when the tag is not
// one of ours for exactly this object (quotes included).
std::optional<std::uint64_t> etagVersion(std::string_view etag, std::string_view kind,
                                         std::string_view id);

struct IfMatch {
  bool any = false;               // `*`
  std::vector<std::string> tags;  // strong ETags, quotes included, in header order
};

// Parses an If-Match field value: `*` or a comma-separated list of entity-tags. Empty list
// elements are ignored (RFC 9110 §5.6.1); anything else malformed is an error (400).
Result<IfMatch> parseIfMatch(std::string_view value);

// Whether the condition holds for an object whose current ETag is `current_etag`.
bool ifMatchAccepts(const IfMatch& condition, std::string_view current_etag);

}  // namespace warden::controlplane
