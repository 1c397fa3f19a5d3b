// YAML -> PolicyConfig (docs/policy.md). Strict: unknown and duplicate keys are errors, so
// a typo such as `metods:` fails the load instead of silently widening a rule.
//
// yaml-cpp reports problems by throwing; so does this file's own validation (ParseFailure),
// because a failure deep in the tree has nothing to do but unwind. Both are caught in
// parsePolicyYaml(), the only entry point, and turned into an Error value.
#include <cstddef>
#include <exception>
#include <initializer_list>
#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "identity/spiffe_id.h"
#include "policy/policy.h"
#include "policy/policy_config.h"

namespace warden::policy {
namespace {

// Bounds on what one file may declare. yaml-cpp aliases are shared nodes, so a small file
// can describe a huge tree; these caps keep parse time and memory proportional to sane input.
constexpr std::size_t kMaxInputBytes = 4u << 20;
constexpr std::size_t kMaxListEntries = 10000;
constexpr std::size_t kMaxTotalRules = 100000;

struct ParseFailure {
  Error error;
};

SourceMark markOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return SourceMark{};
  return SourceMark{mark.line + 1, mark.column + 1};  // yaml-cpp is 0-based
}

std::string join(const std::string& base, std::string_view key) {
  if (base.empty()) return std::string(key);
  return base + "." + std::string(key);
}

std::string indexed(const std::string& base, std::size_t i) {
  return base + "[" + std::to_string(i) + "]";
}

struct Field {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  [[noreturn]] void fail(const YAML::Node& at, std::string_view field,
                         std::string_view message) const {
    throw ParseFailure{configError(source_, markOf(at), field, message)};
  }

  PolicyConfig parseDocument(const YAML::Node& root) {
    PolicyConfig config;
    config.source_name = source_;
    if (!root.IsMap()) {
      fail(root, "", "a policy must be a mapping with keys version, target, allow, callers");
    }
    const std::vector<Field> fields =
        readMap(root, "", {"version", "target", "allow", "callers", "token"});

    const Field* version = find(fields, "version");
    if (version == nullptr) fail(root, "version", "required field is missing");
    config.version = nonEmptyScalar(version->value, "version", &version->key_node);
    config.version_mark = markOf(version->value);

    if (const Field* target = find(fields, "target")) {
      config.target = nonEmptyScalar(target->value, "target", &target->key_node);
      config.target_mark = markOf(target->value);
    }

    const Field* allow = find(fields, "allow");
    if (allow == nullptr) {
      fail(root, "allow", "required field is missing (use `allow: []` to admit nobody)");
    }
    requireList(allow->value, "allow", "(use `allow: []` to admit nobody)");
    for (std::size_t i = 0; i < allow->value.size(); ++i) {
      config.allow.push_back(peerMatcher(allow->value[i], indexed("allow", i)));
    }

    if (const Field* callers = find(fields, "callers")) {
      requireList(callers->value, "callers", "");
      for (std::size_t i = 0; i < callers->value.size(); ++i) {
        config.callers.push_back(caller(callers->value[i], indexed("callers", i)));
      }
    }
    if (const Field* token = find(fields, "token")) config.token = tokenPolicy(token->value);
    return config;
  }

  std::vector<std::string> stringList(const YAML::Node& node, const std::string& field) const {
    requireList(node, field, "");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < node.size(); ++i) {
      out.push_back(nonEmptyScalar(node[i], indexed(field, i)));
    }
    return out;
  }

  // Layer 3: `token: {issuers: [...], binding, binding_claim, client_ids}`; values are
  // checked by validateTokenPolicy() so configs built in code get the same checks.
  TokenPolicyConfig tokenPolicy(const YAML::Node& node) const {
    requireMap(node, "token", "with keys issuers, binding, binding_claim, client_ids");
    const std::vector<Field> fields =
        readMap(node, "token", {"issuers", "binding", "binding_claim", "client_ids"});
    TokenPolicyConfig out;
    out.mark = markOf(node);
    const Field* issuers = find(fields, "issuers");
    if (issuers == nullptr) fail(node, "token.issuers", "required field is missing");
    requireList(issuers->value, "token.issuers", "");
    for (std::size_t i = 0; i < issuers->value.size(); ++i) {
      const YAML::Node n = issuers->value[i];
      const std::string f = indexed("token.issuers", i);
      requireMap(n, f, "with keys issuer, audiences and one of discovery_url, jwks_url, jwks_file");
      const std::vector<Field> is = readMap(
          n, f, {"issuer", "discovery_url", "jwks_url", "jwks_file", "ca_file", "audiences",
                 "algorithms", "typ", "clock_skew_seconds", "roles_claim", "required_claims"});
      TokenIssuerPolicy p;
      p.mark = markOf(n);
      for (const Field& field : is) {
        const std::string ff = join(f, field.key);
        if (field.key == "issuer") p.issuer = nonEmptyScalar(field.value, ff, &field.key_node);
        if (field.key == "discovery_url") p.discovery_url = nonEmptyScalar(field.value, ff, &field.key_node);
        if (field.key == "jwks_url") p.jwks_url = nonEmptyScalar(field.value, ff, &field.key_node);
        if (field.key == "jwks_file") p.jwks_file = nonEmptyScalar(field.value, ff, &field.key_node);
        if (field.key == "ca_file") p.ca_file = nonEmptyScalar(field.value, ff, &field.key_node);
        if (field.key == "audiences") p.audiences = stringList(field.value, ff);
        if (field.key == "algorithms") p.algorithms = stringList(field.value, ff);
        if (field.key == "typ") p.typ = field.value.IsNull() ? "" : field.value.Scalar();
        if (field.key == "roles_claim") p.roles_claim = nonEmptyScalar(field.value, ff, &field.key_node);
        if (field.key == "required_claims") p.required_claims = stringList(field.value, ff);
        if (field.key == "clock_skew_seconds") {
          const std::string v = nonEmptyScalar(field.value, ff, &field.key_node);
          if (v.size() > 3 || !std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
            fail(field.value, ff, "must be a number of seconds (0-300)");
          }
          p.clock_skew_seconds = static_cast<std::uint32_t>(std::stoul(v));
        }
      }
      if (p.issuer.empty()) fail(n, join(f, "issuer"), "required field is missing");
      out.issuers.push_back(std::move(p));
    }
    if (const Field* b = find(fields, "binding")) {
      const std::string v = nonEmptyScalar(b->value, "token.binding", &b->key_node);
      if (v == "none") {
        out.binding = TokenBinding::kNone;
      } else if (v == "subject") {
        out.binding = TokenBinding::kSubject;
      } else if (v == "certificate") {
        out.binding = TokenBinding::kCertificate;
      } else {
        fail(b->value, "token.binding", "must be none, subject or certificate");
      }
    }
    if (const Field* bc = find(fields, "binding_claim")) {
      out.binding_claim = nonEmptyScalar(bc->value, "token.binding_claim", &bc->key_node);
    }
    if (const Field* ids = find(fields, "client_ids")) {
      if (out.binding != TokenBinding::kSubject) {
        fail(ids->key_node, "token.client_ids", "only used with binding: subject");
      }
      out.client_ids = clientIds(*ids);
    }
    if (Status st = validateTokenPolicy(out); !st.ok()) fail(node, "token", st.message());
    return out;
  }

  // `client_ids: {<client id>: <SPIFFE ID>, ...}`. Each entry is checked here, where its
  // line is known; validateTokenPolicy() checks them again for configs built in code.
  std::map<std::string, std::string> clientIds(const Field& ids) const {
    const std::string field = "token.client_ids";
    requireMap(ids.value, field, "of client id to SPIFFE ID");
    if (ids.value.size() > kMaxListEntries) fail(ids.value, field, "too many entries");
    std::map<std::string, std::string> out;
    for (auto it = ids.value.begin(); it != ids.value.end(); ++it) {
      if (!it->first.IsScalar()) fail(it->first, field, "keys must be plain strings");
      const std::string client_id = it->first.Scalar();
      const std::string f = field + "[\"" + client_id + "\"]";
      if (out.contains(client_id)) fail(it->first, f, "duplicate key");
      const std::string spiffe_id = nonEmptyScalar(it->second, f, &it->first);
      if (Status st = validateTokenClientId(client_id, spiffe_id); !st.ok()) {
        // Point at whichever side is wrong.
        const bool id_ok = identity::SpiffeId::parse(spiffe_id).ok();
        fail(id_ok ? it->first : it->second, f, st.message());
      }
      out.emplace(client_id, spiffe_id);
    }
    return out;
  }

 private:
  // The fields of a mapping, rejecting non-string, duplicate and unknown keys. yaml-cpp
  // keeps duplicate keys as separate pairs (node["k"] would silently return the first), so
  // iterating is what lets us refuse them.
  std::vector<Field> readMap(const YAML::Node& node, const std::string& field,
                             std::initializer_list<std::string_view> allowed) const {
    std::vector<Field> out;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) fail(key, field, "keys must be plain strings");
      const std::string& name = key.Scalar();
      bool known = false;
      for (const std::string_view a : allowed) known = known || a == name;
      if (!known) {
        std::string expected;
        for (const std::string_view a : allowed) {
          if (!expected.empty()) expected.append(", ");
          expected.append(a);
        }
        fail(key, join(field, name),
             "unknown key \"" + name + "\" (expected one of " + expected + ")");
      }
      if (find(out, name) != nullptr) fail(key, join(field, name), "duplicate key");
      out.push_back(Field{name, key, it->second});
    }
    return out;
  }

  static const Field* find(const std::vector<Field>& fields, std::string_view key) {
    for (const Field& f : fields) {
      if (f.key == key) return &f;
    }
    return nullptr;
  }

  void requireList(const YAML::Node& node, const std::string& field, std::string_view hint) const {
    if (!node.IsSequence()) {
      std::string message = "must be a list";
      if (!hint.empty()) message.append(" ").append(hint);
      fail(node, field, message);
    }
    if (node.size() > kMaxListEntries) fail(node, field, "too many entries");
  }

  void requireMap(const YAML::Node& node, const std::string& field, std::string_view what) const {
    if (!node.IsMap()) fail(node, field, "must be a mapping " + std::string(what));
  }

  // `key`, when given, is where an absent value is reported: yaml-cpp marks an empty value
  // at the start of the next token, often on the following line.
  std::string nonEmptyScalar(const YAML::Node& node, const std::string& field,
                             const YAML::Node* key = nullptr) const {
    if (node.IsNull()) fail(key != nullptr ? *key : node, field, "must not be empty");
    if (!node.IsScalar()) fail(node, field, "must be a string");
    if (node.Scalar().empty()) fail(node, field, "must not be empty");
    return node.Scalar();
  }

  // One of `id`, `pattern`, `trust_domain`; the values are checked by compilePolicy().
  PeerMatcherConfig peerMatcher(const YAML::Node& node, const std::string& field) const {
    requireMap(node, field, "with one of id, pattern, trust_domain");
    const std::vector<Field> fields = readMap(node, field, {"id", "pattern", "trust_domain"});
    if (fields.empty()) fail(node, field, "must set one of id, pattern, trust_domain");
    if (fields.size() > 1) {
      fail(fields[1].key_node, join(field, fields[1].key),
           "only one of id, pattern, trust_domain may be set");
    }
    PeerMatcherConfig out;
    const Field& f = fields.front();
    std::string value = nonEmptyScalar(f.value, join(field, f.key), &f.key_node);
    if (f.key == "id") {
      out.id = std::move(value);
    } else if (f.key == "pattern") {
      out.pattern = std::move(value);
    } else {
      out.trust_domain = std::move(value);
    }
    out.mark = markOf(f.value);
    return out;
  }

  CallerConfig caller(const YAML::Node& node, const std::string& field) {
    requireMap(node, field, "with keys match, rules");
    const std::vector<Field> fields = readMap(node, field, {"match", "rules"});
    CallerConfig out;
    out.mark = markOf(node);
    const Field* match = find(fields, "match");
    if (match == nullptr) fail(node, join(field, "match"), "required field is missing");
    out.match = peerMatcher(match->value, join(field, "match"));

    const Field* rules = find(fields, "rules");
    if (rules == nullptr) fail(node, join(field, "rules"), "required field is missing");
    const std::string rules_field = join(field, "rules");
    requireList(rules->value, rules_field, "");
    if (rules->value.size() == 0) {
      fail(rules->value, rules_field,
           "must not be empty (a caller without rules is denied every request)");
    }
    total_rules_ += rules->value.size();
    if (total_rules_ > kMaxTotalRules) fail(rules->value, rules_field, "too many rules in file");
    for (std::size_t j = 0; j < rules->value.size(); ++j) {
      out.rules.push_back(rule(rules->value[j], indexed(rules_field, j)));
    }
    return out;
  }

  RuleConfig rule(const YAML::Node& node, const std::string& field) const {
    requireMap(node, field, "with keys id, methods, path, action");
    const std::vector<Field> fields =
        readMap(node, field, {"id", "methods", "path", "action", "roles", "claims"});
    RuleConfig out;
    out.mark = markOf(node);

    if (const Field* id = find(fields, "id")) {
      out.id = nonEmptyScalar(id->value, join(field, "id"), &id->key_node);
    } else {
      // Generated ids name the rule's position, so an audit line still points at it.
      out.id = field;
    }

    const Field* methods = find(fields, "methods");
    const std::string methods_field = join(field, "methods");
    if (methods == nullptr) fail(node, methods_field, "required field is missing");
    if (!methods->value.IsSequence()) {
      fail(methods->value, methods_field, "must be a list, e.g. [GET, HEAD] or [\"*\"]");
    }
    if (methods->value.size() == 0) fail(methods->value, methods_field, "must not be empty");
    for (std::size_t k = 0; k < methods->value.size(); ++k) {
      const YAML::Node m = methods->value[k];
      const std::string m_field = indexed(methods_field, k);
      std::string token = nonEmptyScalar(m, m_field);
      if (Status s = validateMethodToken(token); !s.ok()) fail(m, m_field, s.message());
      if (token == "*" && methods->value.size() != 1) {
        fail(m, m_field, "\"*\" must be the only method");
      }
      for (const std::string& seen : out.methods) {
        if (seen == token) fail(m, m_field, "duplicate method \"" + token + "\"");
      }
      out.methods.push_back(std::move(token));
    }

    const Field* path = find(fields, "path");
    const std::string path_field = join(field, "path");
    if (path == nullptr) fail(node, path_field, "required field is missing");
    requireMap(path->value, path_field, "with one of exact, prefix, pattern");
    const std::vector<Field> path_fields = readMap(path->value, path_field,
                                                   {"exact", "prefix", "pattern"});
    if (path_fields.empty()) fail(path->value, path_field, "must set one of exact, prefix, pattern");
    if (path_fields.size() > 1) {
      fail(path_fields[1].key_node, join(path_field, path_fields[1].key),
           "only one of exact, prefix, pattern may be set");
    }
    const Field& p = path_fields.front();
    const std::string p_field = join(path_field, p.key);
    out.path.kind = p.key == "exact"    ? PathMatchConfig::Kind::kExact
                    : p.key == "prefix" ? PathMatchConfig::Kind::kPrefix
                                        : PathMatchConfig::Kind::kPattern;
    out.path.value = nonEmptyScalar(p.value, p_field, &p.key_node);
    out.path.mark = markOf(p.value);
    if (Status s = validatePathMatch(out.path.kind, out.path.value); !s.ok()) {
      fail(p.value, p_field, s.message());
    }

    if (const Field* roles = find(fields, "roles")) {
      out.roles = stringList(roles->value, join(field, "roles"));
    }
    if (const Field* claims = find(fields, "claims")) {
      const std::string claims_field = join(field, "claims");
      requireMap(claims->value, claims_field, "of claim name to required value");
      for (auto it = claims->value.begin(); it != claims->value.end(); ++it) {
        if (!it->first.IsScalar()) fail(it->first, claims_field, "keys must be plain strings");
        const std::string name = it->first.Scalar();
        for (const auto& seen : out.claims) {
          if (seen.first == name) fail(it->first, join(claims_field, name), "duplicate key");
        }
        out.claims.emplace_back(name, nonEmptyScalar(it->second, join(claims_field, name)));
      }
    }

    const Field* action = find(fields, "action");
    const std::string action_field = join(field, "action");
    if (action == nullptr) fail(node, action_field, "required field is missing");
    const std::string verb = nonEmptyScalar(action->value, action_field, &action->key_node);
    if (verb == "allow") {
      out.action = RuleAction::kAllow;
    } else if (verb == "deny") {
      out.action = RuleAction::kDeny;
    } else {
      fail(action->value, action_field, "must be \"allow\" or \"deny\", not \"" + verb + "\"");
    }
    return out;
  }

  std::string source_;
  std::size_t total_rules_ = 0;
};

// Counts documents through yaml-cpp's event API, remembering where the second begins.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  int documents() const { return documents_; }
  const YAML::Mark& second() const { return second_; }

 private:
  int documents_ = 0;
  YAML::Mark second_;
};

// Whether the stream holds more than one document. yaml-cpp 0.7's LoadAll never returns
// on some malformed streams (",\n" yields empty documents forever, found by
// fuzz/policy_fuzz), so documents are counted by hand and never past two.
std::optional<YAML::Mark> secondDocument(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  while (counter.documents() < 2 && parser.HandleNextDocument(counter)) {
  }
  if (counter.documents() < 2) return std::nullopt;
  return counter.second();
}

}  // namespace

Result<PolicyConfig> parsePolicyYaml(std::string_view yaml_text, std::string_view source_name) {
  const std::string source(source_name.empty() ? "policy" : source_name);
  if (yaml_text.size() > kMaxInputBytes) {
    return configError(source, {}, "", "policy file is larger than 4 MiB");
  }
  Parser parser(source);
  try {
    const std::string text(yaml_text);
    if (auto second = secondDocument(text)) {
      const SourceMark mark =
          second->is_null() ? SourceMark{} : SourceMark{second->line + 1, second->column + 1};
      return configError(source, mark, "", "only one YAML document is allowed per policy file");
    }
    const YAML::Node document = YAML::Load(text);
    if (!document || document.IsNull()) return configError(source, {}, "", "policy is empty");
    return parser.parseDocument(document);
  } catch (const ParseFailure& failure) {
    return failure.error;
  } catch (const YAML::Exception& e) {
    SourceMark mark;
    if (!e.mark.is_null()) mark = SourceMark{e.mark.line + 1, e.mark.column + 1};
    return configError(source, mark, "", "invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    // Allocation failure and the like: still an error value, never an escaping exception.
    return configError(source, {}, "", std::string("cannot parse policy: ") + e.what());
  }
}

}  // namespace warden::policy
