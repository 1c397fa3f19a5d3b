// Fuzz target: identity::SpiffeId::parse and IdMatcher (exact, trust domain, pattern).
//
// The whole input is tried as an ID, a pattern and a trust domain; then it is split at its
// first "\n" into (pattern, candidate ID) to compare IdMatcher::matches with a naive
// segment-by-segment matcher. Checked, beyond "does not crash":
//   - parse accepts exactly what the SPIFFE-ID rules in spiffe_id.h allow (independent
//     re-implementation), and a parsed ID: str() is the input, is at most 2048 bytes,
//     round-trips through parse, and "spiffe://" + trustDomain() + path() == str();
//   - exact() accepts exactly the parseable IDs with a path; trustDomain() exactly the
//     valid trust domains;
//   - pattern(): text() is the input; no `*` -> exact matcher; an accepted pattern matches
//     its own instantiations and not IDs with one segment more or less, or another trust
//     domain; matches() agrees with the naive matcher on every candidate.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "identity/id_matcher.h"
#include "identity/spiffe_id.h"

namespace {

using warden::identity::IdMatcher;
using warden::identity::SpiffeId;

constexpr std::string_view kScheme = "spiffe://";

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t next = text.find(sep, pos);
    out.push_back(text.substr(pos, next == std::string_view::npos ? next : next - pos));
    if (next == std::string_view::npos) return out;
    pos = next + 1;
  }
}

bool naiveTrustDomainOk(std::string_view td) {
  if (td.empty() || td.size() > 255) return false;
  for (const char c : td) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                    c == '_';
    if (!ok) return false;
  }
  return true;
}

bool naiveSegmentOk(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// The SPIFFE ID grammar, written as "split on '/', check every part".
bool naiveIdOk(std::string_view text) {
  if (text.empty() || text.size() > 2048 || text.substr(0, kScheme.size()) != kScheme) {
    return false;
  }
  const std::vector<std::string_view> parts = split(text.substr(kScheme.size()), '/');
  if (!naiveTrustDomainOk(parts[0])) return false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (!naiveSegmentOk(parts[i])) return false;
  }
  return true;
}

// Pattern vs ID, both split on '/': same number of parts, "*" = any part, else equal.
// Both texts start with "spiffe://", so the trust domain is compared literally.
bool naiveMatches(std::string_view pattern, std::string_view id) {
  const std::vector<std::string_view> want = split(pattern, '/');
  const std::vector<std::string_view> got = split(id, '/');
  if (want.size() != got.size()) return false;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "*" ? got[i].empty() : want[i] != got[i]) return false;
  }
  return true;
}

void checkParsed(std::string_view text, const SpiffeId& id) {
  FUZZ_CHECK(id.str() == text, id.str());
  FUZZ_CHECK(id.str().size() <= warden::identity::kMaxSpiffeIdLength, "too long");
  FUZZ_CHECK(std::string(kScheme) + std::string(id.trustDomain()) + std::string(id.path()) ==
                 id.str(),
             id.str());
  FUZZ_CHECK(naiveTrustDomainOk(id.trustDomain()), id.trustDomain());
  FUZZ_CHECK(id.path().empty() || id.path().front() == '/', id.path());
  FUZZ_CHECK(id.hasPath() == !id.path().empty(), id.str());
  const warden::Result<SpiffeId> again = SpiffeId::parse(id.str());
  FUZZ_CHECK(again.ok() && again.value() == id && again->trustDomain() == id.trustDomain() &&
                 again->path() == id.path(),
             "does not round-trip: " + id.str());
}

// The matcher must agree with the naive one whenever `candidate` is a valid ID.
void compareMatch(const IdMatcher& matcher, std::string_view pattern, std::string_view candidate) {
  const warden::Result<SpiffeId> id = SpiffeId::parse(candidate);
  if (!id.ok()) return;
  const bool got = matcher.matches(id.value());
  const bool want = naiveMatches(pattern, candidate);
  FUZZ_CHECK(got == want, std::string(pattern) + (got ? " matches " : " does not match ") +
                              std::string(candidate));
}

// The pattern rules: an ID (once each `*` becomes a plain segment) with a path, `*` only as
// a whole path segment, never in the trust domain.
bool naivePatternOk(std::string_view text) {
  if (text.size() > 2048 || text.substr(0, kScheme.size()) != kScheme) return false;
  const std::vector<std::string_view> parts = split(text.substr(kScheme.size()), '/');
  if (parts.size() < 2 || parts[0].find('*') != std::string_view::npos) return false;
  std::string instance(kScheme);
  instance.append(parts[0]);
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (parts[i] != "*" && parts[i].find('*') != std::string_view::npos) return false;
    instance.push_back('/');
    instance.append(parts[i] == "*" ? std::string_view("x") : parts[i]);
  }
  return naiveIdOk(instance);
}

void checkPattern(std::string_view text) {
  const warden::Result<IdMatcher> m = IdMatcher::pattern(text);
  FUZZ_CHECK(m.ok() == naivePatternOk(text),
             m.ok() ? "accepted an invalid pattern" : "rejected a valid pattern: " +
                                                          m.error().message);
  if (!m.ok()) {
    FUZZ_CHECK(!m.error().message.empty(), "empty error message");
    return;
  }
  const IdMatcher& matcher = m.value();
  FUZZ_CHECK(matcher.text() == text, matcher.text());
  const bool wildcard = text.find('*') != std::string_view::npos;
  FUZZ_CHECK(matcher.kind() == (wildcard ? IdMatcher::Kind::kPattern : IdMatcher::Kind::kExact),
             text);

  // Instantiate every `*` with a few segment values; each instance must be a valid ID that
  // the pattern matches. Adding or removing a trailing segment, or renaming the trust
  // domain, must not match.
  std::string with_x;
  std::string with_dots;
  for (const std::string_view part : split(text, '/')) {
    if (!with_x.empty()) {
      with_x.push_back('/');
      with_dots.push_back('/');
    }
    with_x.append(part == "*" ? std::string_view("x") : part);
    with_dots.append(part == "*" ? std::string_view("a.b-c_D9") : part);
  }
  for (const std::string& instance : {with_x, with_dots}) {
    if (instance.size() > warden::identity::kMaxSpiffeIdLength) continue;
    const warden::Result<SpiffeId> id = SpiffeId::parse(instance);
    FUZZ_CHECK(id.ok(), "instance of an accepted pattern is not an ID: " + instance);
    FUZZ_CHECK(matcher.matches(id.value()), "pattern does not match its instance " + instance);
    compareMatch(matcher, text, instance + "/extra");
    const std::size_t last_slash = instance.rfind('/');
    compareMatch(matcher, text, instance.substr(0, last_slash));
    const std::size_t td_end = instance.find('/', kScheme.size());
    compareMatch(matcher, text,
                 std::string(kScheme) + "other-td" + instance.substr(td_end));
    compareMatch(matcher, text, instance.substr(0, td_end));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const warden::Result<SpiffeId> id = SpiffeId::parse(text);
  FUZZ_CHECK(id.ok() == naiveIdOk(text),
             id.ok() ? "accepted an invalid ID" : "rejected a valid ID: " + id.error().message);
  if (id.ok()) checkParsed(text, id.value());

  const warden::Result<IdMatcher> exact = IdMatcher::exact(text);
  FUZZ_CHECK(exact.ok() == (id.ok() && id->hasPath()), "exact() disagrees with parse()");
  if (exact.ok()) {
    FUZZ_CHECK(exact->kind() == IdMatcher::Kind::kExact && exact->text() == text, text);
    FUZZ_CHECK(exact->matches(id.value()), "exact matcher does not match its own ID");
  }

  const warden::Result<IdMatcher> td = IdMatcher::trustDomain(text);
  FUZZ_CHECK(td.ok() == naiveTrustDomainOk(text), "trustDomain() disagrees with the rules");
  if (td.ok()) {
    const warden::Result<SpiffeId> member = SpiffeId::parse(std::string(kScheme) +
                                                            std::string(text) + "/w");
    FUZZ_CHECK(member.ok() && td->matches(member.value()), "trust domain misses its member");
  }

  checkPattern(text);

  // Pattern on the first line, candidate IDs on the following ones.
  const std::vector<std::string_view> lines = split(text, '\n');
  if (lines.size() >= 2) {
    checkPattern(lines[0]);
    const warden::Result<IdMatcher> m = IdMatcher::pattern(lines[0]);
    if (m.ok()) {
      for (std::size_t i = 1; i < lines.size(); ++i) compareMatch(m.value(), lines[0], lines[i]);
    }
  }
  return 0;
}
