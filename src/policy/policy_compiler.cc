// Validation and compilation of a PolicyConfig into an immutable PolicySnapshot, and the
// snapshot's evaluation (layers 1 and 2). See policy.h for the semantics.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "identity/id_matcher.h"
#include "identity/spiffe_id.h"
#include "policy/policy.h"

namespace warden::policy {

struct PolicySnapshot::CompiledRule {
  std::string id;              // rule_id of the decisions this rule makes
  std::uint16_t methods = 0;   // bitmask of Method
  PathMatchConfig::Kind path_kind = PathMatchConfig::Kind::kExact;
  std::string path;            // exact value or prefix
  std::vector<std::string> pattern_segments;  // kPattern: "*" = one non-empty segment
  bool allow = false;
  std::vector<std::string> roles;  // layer 3: required roles (all of)
  std::vector<std::pair<std::string, std::string>> claims;  // layer 3: required claims

  bool matchesPath(std::string_view request_path) const;
};

struct PolicySnapshot::CompiledCaller {
  identity::IdMatcher matcher;
  std::vector<CompiledRule> rules;
};

namespace {

struct MethodName {
  std::string_view name;
  Method method;
};
// RFC 9110 §9.3 plus PATCH (RFC 5789), in the order used by messages.
constexpr std::array<MethodName, 9> kMethods{{
    {"GET", Method::kGet},
    {"HEAD", Method::kHead},
    {"POST", Method::kPost},
    {"PUT", Method::kPut},
    {"DELETE", Method::kDelete},
    {"PATCH", Method::kPatch},
    {"OPTIONS", Method::kOptions},
    {"CONNECT", Method::kConnect},
    {"TRACE", Method::kTrace},
}};
constexpr std::uint16_t kAllMethods = (1u << 10) - 1;  // every bit, kOther included
// The parser's bound on any one list, for token.client_ids built in code too.
constexpr std::size_t kMaxClientIds = 10000;
constexpr std::size_t kMaxRuleIdLength = 128;

bool isAsciiUpperCopyEqual(std::string_view token, std::string_view upper) {
  if (token.size() != upper.size()) return false;
  for (std::size_t i = 0; i < token.size(); ++i) {
    char c = token[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != upper[i]) return false;
  }
  return true;
}

// Characters a normalised request path can contain literally (RFC 3986 §3.3 pchar without
// pct-encoded, plus "/").
bool isPathLiteral(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '!': case '$': case '&': case '\'':
    case '(': case ')': case '*': case '+': case ',': case ';': case '=': case ':':
    case '@': case '/':
      return true;
    default:
      return false;
  }
}

bool isRuleIdChar(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case ':': case '/': case '[': case ']':
      return true;
    default:
      return false;
  }
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  out.append(text);
  out.push_back('"');
  return out;
}

std::string indexed(std::string_view base, std::size_t i) {
  std::string out(base);
  out.push_back('[');
  out.append(std::to_string(i));
  out.push_back(']');
  return out;
}

// The compiler's view of one config error; turned into the shared message shape at the end.
class Compiler {
 public:
  explicit Compiler(std::string_view source) : source_(source.empty() ? "policy" : source) {}

  Error error(SourceMark mark, std::string_view field, std::string_view message) const {
    return configError(source_, mark, field, message);
  }

  // Builds the matcher of an allow entry or a caller's `match`.
  Result<identity::IdMatcher> peerMatcher(const PeerMatcherConfig& config,
                                          const std::string& field) const {
    const int set = static_cast<int>(!config.id.empty()) +
                    static_cast<int>(!config.pattern.empty()) +
                    static_cast<int>(!config.trust_domain.empty());
    if (set != 1) {
      return error(config.mark, field, "must set exactly one of id, pattern, trust_domain");
    }
    Result<identity::IdMatcher> matcher =
        !config.id.empty()        ? identity::IdMatcher::exact(config.id)
        : !config.pattern.empty() ? identity::IdMatcher::pattern(config.pattern)
                                  : identity::IdMatcher::trustDomain(config.trust_domain);
    if (!matcher.ok()) {
      const std::string_view sub = !config.id.empty()        ? ".id"
                                   : !config.pattern.empty() ? ".pattern"
                                                             : ".trust_domain";
      return error(config.mark, field + std::string(sub), matcher.error().message);
    }
    return matcher;
  }

 private:
  std::string source_;
};

}  // namespace

Error configError(std::string_view source, SourceMark mark, std::string_view field,
                  std::string_view message) {
  std::string out(source.empty() ? "policy" : source);
  if (mark.line > 0) {
    out.append(":").append(std::to_string(mark.line));
    out.append(":").append(std::to_string(mark.column > 0 ? mark.column : 1));
  }
  out.append(": ");
  if (!field.empty()) out.append(field).append(": ");
  out.append(message);
  return Error{std::move(out)};
}

Method parseMethod(std::string_view token) {
  for (const MethodName& m : kMethods) {
    if (m.name == token) return m.method;
  }
  return Method::kOther;
}

Status validateMethodToken(std::string_view token) {
  if (token == "*") return Status::okStatus();
  for (const MethodName& m : kMethods) {
    if (m.name == token) return Status::okStatus();
  }
  // RFC 9110 §9.1: method names are case-sensitive, so "get" is a different (extension)
  // method that a rule for GET must not silently cover.
  for (const MethodName& m : kMethods) {
    if (isAsciiUpperCopyEqual(token, m.name)) {
      return Error{"unknown method " + quote(token) +
                   " (methods are case-sensitive; did you mean " + quote(m.name) + "?)"};
    }
  }
  return Error{"unknown method " + quote(token) +
               " (expected one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, CONNECT, "
               "TRACE, or \"*\" alone)"};
}

Status validatePathMatch(PathMatchConfig::Kind kind, std::string_view value) {
  // Request paths reach evaluate() normalised (request_path.h); a configured path that is
  // not itself normalised could never match, which is always a mistake worth reporting.
  if (value.empty()) return Error{"must not be empty"};
  if (value.front() != '/') return Error{"must start with \"/\""};
  for (const char c : value) {
    if (c == '?' || c == '#') {
      return Error{"must not contain a query or fragment (\"?\" or \"#\")"};
    }
    if (c == '%') {
      return Error{"must not contain percent-escapes (write the decoded character)"};
    }
    if (!isPathLiteral(c)) {
      if (c > 0x20 && c < 0x7f) {
        return Error{std::string("character '") + c + "' is not allowed in a path"};
      }
      return Error{"contains a character that is not allowed in a path"};
    }
  }
  if (value.find("//") != std::string_view::npos) {
    return Error{"must not contain \"//\" (request paths are normalised, so it never matches)"};
  }
  std::size_t pos = 1;
  while (pos <= value.size()) {
    std::size_t end = value.find('/', pos);
    if (end == std::string_view::npos) end = value.size();
    const std::string_view segment = value.substr(pos, end - pos);
    if (segment == "." || segment == "..") {
      return Error{
          "must not contain \".\" or \"..\" segments (request paths are normalised, so it "
          "never matches)"};
    }
    if (segment.find('*') != std::string_view::npos) {
      if (kind != PathMatchConfig::Kind::kPattern) {
        return Error{"\"*\" is only allowed in `pattern` paths"};
      }
      if (segment != "*") return Error{"\"*\" must be a whole path segment, e.g. /a/*/b"};
    }
    pos = end + 1;
  }
  return Status::okStatus();
}

bool PolicySnapshot::CompiledRule::matchesPath(std::string_view request_path) const {
  switch (path_kind) {
    case PathMatchConfig::Kind::kExact:
      return request_path == path;
    case PathMatchConfig::Kind::kPrefix:
      // Segment-aware: "/budget" covers "/budget" and "/budget/..." but not "/budgetx";
      // a prefix ending in "/" (including "/") is a plain string prefix.
      if (request_path.size() < path.size() || request_path.compare(0, path.size(), path) != 0) {
        return false;
      }
      return path.back() == '/' || request_path.size() == path.size() ||
             request_path[path.size()] == '/';
    case PathMatchConfig::Kind::kPattern: {
      if (request_path.empty() || request_path.front() != '/') return false;
      std::size_t pos = 1;
      for (std::size_t i = 0; i < pattern_segments.size(); ++i) {
        const std::size_t end = request_path.find('/', pos);
        const bool last_in_path = end == std::string_view::npos;
        const std::string_view piece = request_path.substr(pos, last_in_path ? std::string_view::npos : end - pos);
        const std::string& want = pattern_segments[i];
        if (want == "*" ? piece.empty() : piece != want) return false;
        const bool last_in_pattern = i + 1 == pattern_segments.size();
        if (last_in_pattern != last_in_path) return false;
        pos = end + 1;
      }
      return true;
    }
  }
  return false;
}

PolicySnapshot::~PolicySnapshot() = default;

bool PolicySnapshot::allowsPeer(const identity::SpiffeId& peer) const {
  return std::any_of(allow_.begin(), allow_.end(),
                     [&peer](const identity::IdMatcher& m) { return m.matches(peer); });
}

Decision PolicySnapshot::evaluate(const identity::SpiffeId& caller, Method method,
                                  std::string_view normalized_path) const {
  const CompiledCaller* entry = nullptr;
  if (const auto it = exact_callers_.find(caller.str()); it != exact_callers_.end()) {
    entry = &callers_[it->second];
  } else {
    // Patterns precede trust domains in callers_, so the first match is the most specific.
    for (std::size_t i = first_non_exact_; i < callers_.size(); ++i) {
      if (callers_[i].matcher.matches(caller)) {
        entry = &callers_[i];
        break;
      }
    }
  }
  if (entry == nullptr) return Decision::deny(Layer::kRbac, reason::kNoCallerPolicy, 403);

  const auto bit = static_cast<std::uint16_t>(method);
  for (const CompiledRule& rule : entry->rules) {
    if ((rule.methods & bit) == 0 || !rule.matchesPath(normalized_path)) continue;
    if (rule.allow) {
      Decision d = Decision::allow(Layer::kRbac, rule.id);
      if (!rule.roles.empty()) d.required_roles = &rule.roles;
      if (!rule.claims.empty()) d.required_claims = &rule.claims;
      return d;
    }
    return Decision::deny(Layer::kRbac, reason::kRuleDenied, 403, rule.id);
  }
  return Decision::deny(Layer::kRbac, reason::kNoMatchingRule, 403);
}

Result<std::shared_ptr<const PolicySnapshot>> compilePolicy(PolicyConfig config) {
  const Compiler c(config.source_name);
  std::shared_ptr<PolicySnapshot> snapshot(new PolicySnapshot());

  if (config.version.empty()) {
    return c.error(config.version_mark, "version", "must not be empty");
  }
  if (!config.target.empty()) {
    if (auto id = identity::SpiffeId::parse(config.target); !id.ok()) {
      return c.error(config.target_mark, "target", id.error().message);
    }
  }

  // Layer 1 allow-list. Duplicates are rejected: they are harmless to evaluation but are a
  // sign of a merge mistake, and the list is what operators audit.
  for (std::size_t i = 0; i < config.allow.size(); ++i) {
    const std::string field = indexed("allow", i);
    Result<identity::IdMatcher> matcher = c.peerMatcher(config.allow[i], field);
    if (!matcher.ok()) return matcher.error();
    for (std::size_t k = 0; k < snapshot->allow_.size(); ++k) {
      const identity::IdMatcher& seen = snapshot->allow_[k];
      if (seen.kind() == matcher->kind() && seen.text() == matcher->text()) {
        return c.error(config.allow[i].mark, field,
                       "duplicate entry " + quote(matcher->text()) + " (same as " +
                           indexed("allow", k) + ")");
      }
    }
    snapshot->allow_.push_back(std::move(matcher).value());
  }

  if (config.token) {
    if (Status st = validateTokenPolicy(*config.token); !st.ok()) {
      return c.error(config.token->mark, "token", st.message());
    }
  }

  // Layer 2 callers: compiled in file order, then stably grouped by precedence.
  struct Built {
    std::size_t index;  // position in the file
    PolicySnapshot::CompiledCaller caller;
  };
  std::vector<Built> built;
  built.reserve(config.callers.size());
  struct RuleSeen {
    std::string_view id;
    std::size_t caller;
    std::size_t rule;
  };
  std::vector<RuleSeen> rule_ids;

  for (std::size_t i = 0; i < config.callers.size(); ++i) {
    CallerConfig& caller = config.callers[i];
    const std::string field = indexed("callers", i);
    Result<identity::IdMatcher> matcher = c.peerMatcher(caller.match, field + ".match");
    if (!matcher.ok()) return matcher.error();
    for (const Built& other : built) {
      const identity::IdMatcher& seen = other.caller.matcher;
      if (seen.kind() == matcher->kind() && seen.text() == matcher->text()) {
        // A second entry for the same matcher could never be selected.
        const std::string_view written = !caller.match.id.empty()        ? "id"
                                         : !caller.match.pattern.empty() ? "pattern"
                                                                         : "trust_domain";
        return c.error(caller.match.mark, field + ".match." + std::string(written),
                       "duplicate caller " + quote(matcher->text()) + " (already matched by " +
                           indexed("callers", other.index) + ")");
      }
    }
    if (caller.rules.empty()) {
      return c.error(caller.mark, field + ".rules",
                     "must not be empty (a caller without rules is denied every request)");
    }

    PolicySnapshot::CompiledCaller compiled{std::move(matcher).value(), {}};
    compiled.rules.reserve(caller.rules.size());
    std::size_t catch_all = caller.rules.size();  // index of the first catch-all rule
    for (std::size_t j = 0; j < caller.rules.size(); ++j) {
      RuleConfig& rule = caller.rules[j];
      const std::string rule_field = field + indexed(".rules", j);
      if (catch_all < caller.rules.size()) {
        return c.error(rule.mark, rule_field,
                       "unreachable: rule " + quote(caller.rules[catch_all].id) + " (" + field +
                           indexed(".rules", catch_all) +
                           ") before it matches every method and path");
      }
      if (rule.id.empty()) {
        rule.id = rule_field;
      } else {
        if (rule.id.size() > kMaxRuleIdLength) {
          return c.error(rule.mark, rule_field + ".id", "must be at most 128 characters");
        }
        if (!std::all_of(rule.id.begin(), rule.id.end(), isRuleIdChar)) {
          return c.error(rule.mark, rule_field + ".id",
                         "may contain only letters, digits and - . _ : / [ ]");
        }
      }
      for (const RuleSeen& seen : rule_ids) {
        if (seen.id == rule.id) {
          return c.error(rule.mark, rule_field + ".id",
                         "duplicate rule id " + quote(rule.id) + " (first used by " +
                             indexed("callers", seen.caller) + indexed(".rules", seen.rule) +
                             ")");
        }
      }
      rule_ids.push_back(RuleSeen{rule.id, i, j});

      PolicySnapshot::CompiledRule out;
      out.id = rule.id;
      out.allow = rule.action == RuleAction::kAllow;
      for (std::size_t k = 0; k < rule.roles.size(); ++k) {
        const std::string roles_field = rule_field + indexed(".roles", k);
        if (rule.roles[k].empty() || rule.roles[k].size() > 256) {
          return c.error(rule.mark, roles_field, "must be a non-empty role name of at most 256 bytes");
        }
      }
      if (!rule.roles.empty() && !config.token) {
        return c.error(rule.mark, rule_field + ".roles",
                       "roles are checked on the caller's token: add a `token` section naming "
                       "the trusted issuers");
      }
      if (!rule.roles.empty() && !out.allow) {
        return c.error(rule.mark, rule_field + ".roles", "only allow rules can require roles");
      }
      out.roles = rule.roles;
      if (!rule.claims.empty() && !config.token) {
        return c.error(rule.mark, rule_field + ".claims",
                       "claims are checked on the caller's token: add a `token` section");
      }
      if (!rule.claims.empty() && !out.allow) {
        return c.error(rule.mark, rule_field + ".claims", "only allow rules can require claims");
      }
      for (const auto& [name, value] : rule.claims) {
        if (name.empty() || name.size() > 256 || value.size() > 1024) {
          return c.error(rule.mark, rule_field + ".claims",
                         "claim names must be 1-256 bytes and values at most 1024");
        }
      }
      out.claims = rule.claims;
      if (rule.methods.empty()) {
        return c.error(rule.mark, rule_field + ".methods", "must not be empty");
      }
      for (std::size_t k = 0; k < rule.methods.size(); ++k) {
        const std::string& token = rule.methods[k];
        const std::string method_field = rule_field + indexed(".methods", k);
        if (Status s = validateMethodToken(token); !s.ok()) {
          return c.error(rule.mark, method_field, s.message());
        }
        if (token == "*") {
          if (rule.methods.size() != 1) {
            return c.error(rule.mark, method_field, "\"*\" must be the only method");
          }
          out.methods = kAllMethods;
          continue;
        }
        const auto bit = static_cast<std::uint16_t>(parseMethod(token));
        if ((out.methods & bit) != 0) {
          return c.error(rule.mark, method_field, "duplicate method " + quote(token));
        }
        out.methods = static_cast<std::uint16_t>(out.methods | bit);
      }

      const std::string_view path_kind = rule.path.kind == PathMatchConfig::Kind::kExact ? "exact"
                                         : rule.path.kind == PathMatchConfig::Kind::kPrefix
                                             ? "prefix"
                                             : "pattern";
      if (Status s = validatePathMatch(rule.path.kind, rule.path.value); !s.ok()) {
        return c.error(rule.path.mark.line > 0 ? rule.path.mark : rule.mark,
                       rule_field + ".path." + std::string(path_kind), s.message());
      }
      out.path_kind = rule.path.kind;
      out.path = rule.path.value;
      if (out.path_kind == PathMatchConfig::Kind::kPattern) {
        std::size_t pos = 1;
        while (true) {
          const std::size_t end = out.path.find('/', pos);
          out.pattern_segments.push_back(out.path.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
          if (end == std::string::npos) break;
          pos = end + 1;
        }
      }
      if (out.methods == kAllMethods && out.path_kind == PathMatchConfig::Kind::kPrefix &&
          out.path == "/") {
        catch_all = j;
      }
      compiled.rules.push_back(std::move(out));
    }
    built.push_back(Built{i, std::move(compiled)});
  }

  // Evaluation order (policy.h): exact, then pattern, then trust domain; stable so file
  // order decides within a group. The tier is what the operator wrote: a `pattern` with
  // no `*` compiles to an exact matcher but still takes its place among the patterns.
  auto rank = [&config](const Built& b) {
    const PeerMatcherConfig& m = config.callers[b.index].match;
    if (!m.id.empty()) return 0;
    if (!m.pattern.empty()) return 1;
    return 2;
  };
  std::stable_sort(built.begin(), built.end(),
                   [&rank](const Built& a, const Built& b) { return rank(a) < rank(b); });
  snapshot->callers_.reserve(built.size());
  for (Built& b : built) {
    if (rank(b) == 0) {
      // Key by the canonical string of the parsed ID, the same form SpiffeId::str() gives
      // the evaluator for a peer.
      Result<identity::SpiffeId> id = identity::SpiffeId::parse(b.caller.matcher.text());
      if (!id.ok()) {
        return c.error(config.callers[b.index].match.mark,
                       indexed("callers", b.index) + ".match", id.error().message);
      }
      snapshot->exact_callers_.emplace(id->str(), snapshot->callers_.size());
      snapshot->first_non_exact_ = snapshot->callers_.size() + 1;
    }
    snapshot->callers_.push_back(std::move(b.caller));
  }

  snapshot->config_ = std::move(config);
  return std::shared_ptr<const PolicySnapshot>(std::move(snapshot));
}

Result<std::shared_ptr<const PolicySnapshot>> loadPolicyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": cannot open policy file"};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{path + ": cannot read policy file"};
  Result<PolicyConfig> config = parsePolicyYaml(text.str(), path);
  if (!config.ok()) return config.error();
  return compilePolicy(std::move(config).value());
}

Status validateTokenClientId(std::string_view client_id, std::string_view spiffe_id) {
  if (client_id.empty()) return Error{"a client id must not be empty"};
  if (client_id.size() > 256) return Error{"a client id is at most 256 bytes"};
  // RFC 6749 Appendix A.1: client_id = *VSCHAR (%x20-7E).
  if (!std::all_of(client_id.begin(), client_id.end(),
                   [](char ch) { return ch >= 0x20 && ch <= 0x7e; })) {
    return Error{"a client id is printable ASCII (RFC 6749 Appendix A.1)"};
  }
  if (Result<identity::SpiffeId> id = identity::SpiffeId::parse(spiffe_id); !id.ok()) {
    return id.error();
  }
  return {};
}

Status validateTokenPolicy(const TokenPolicyConfig& token) {
  static constexpr std::array<std::string_view, 9> kAlgorithms = {
      "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"};
  if (token.issuers.empty()) return Error{"issuers: at least one trusted issuer is required"};
  for (std::size_t i = 0; i < token.issuers.size(); ++i) {
    const auto& is = token.issuers[i];
    const std::string f = indexed("issuers", i);
    if (is.issuer.empty()) return Error{f + ".issuer: must not be empty"};
    for (std::size_t k = 0; k < i; ++k) {
      if (token.issuers[k].issuer == is.issuer) return Error{f + ".issuer: duplicate issuer"};
    }
    const int sources = !is.discovery_url.empty() + !is.jwks_url.empty() + !is.jwks_file.empty();
    if (sources != 1) {
      return Error{f + ": exactly one of discovery_url, jwks_url, jwks_file is required"};
    }
    for (const auto* url : {&is.discovery_url, &is.jwks_url}) {
      if (!url->empty() && !url->starts_with("https://") && !url->starts_with("http://127.") &&
          !url->starts_with("http://[::1]") && !url->starts_with("http://localhost")) {
        return Error{f + ": key URLs must be https (plain http only on loopback)"};
      }
    }
    if (is.audiences.empty()) return Error{f + ".audiences: at least one audience is required"};
    for (const auto& alg : is.algorithms) {
      // `none` and HMAC are never accepted (RFC 8725 §3.1, §3.2): keys come from a JWKS.
      if (std::find(kAlgorithms.begin(), kAlgorithms.end(), alg) == kAlgorithms.end()) {
        return Error{f + ".algorithms: \"" + alg +
                     "\" is not allowed (RS256..512, PS256..512, ES256..512)"};
      }
    }
    if (is.clock_skew_seconds > 300) return Error{f + ".clock_skew_seconds: at most 300"};
    if (is.roles_claim.empty()) return Error{f + ".roles_claim: must not be empty"};
  }
  if (token.binding == TokenBinding::kSubject && token.binding_claim != "sub" &&
      token.binding_claim != "azp" && token.binding_claim != "client_id") {
    return Error{"binding_claim: must be sub, azp or client_id"};
  }
  if (!token.client_ids.empty() && token.binding != TokenBinding::kSubject) {
    // Only the subject binding reads them; elsewhere they would be a silent no-op.
    return Error{"client_ids: only used with binding: subject"};
  }
  if (token.client_ids.size() > kMaxClientIds) return Error{"client_ids: too many entries"};
  for (const auto& [client_id, spiffe_id] : token.client_ids) {
    if (Status st = validateTokenClientId(client_id, spiffe_id); !st.ok()) {
      return Error{"client_ids[\"" + client_id + "\"]: " + st.message()};
    }
  }
  return {};
}

std::string distributedVersionLabel(std::string_view label, std::uint64_t stored_version) {
  std::string out(label);
  if (!out.empty()) out.push_back('@');
  out.push_back('v');
  out.append(std::to_string(stored_version));
  return out;
}

}  // namespace warden::policy
