// warden policy ... and warden governance ...: a target's versioned developer policy and
// admin governance documents (/api/v1/policies, /api/v1/governance), and `policy explain`.
#include <iostream>

#include "cli/admin_internal.h"
#include "cli/table.h"
#include "controlplane/text_diff.h"
#include "governance/governance.h"
#include "jose/base64url.h"
#include "policy/policy.h"

namespace warden::cli {
namespace {

using nlohmann::json;

struct Kind {
  std::string area;   // "policy", "governance": the subcommand and the word in messages
  std::string path;   // "policies", "governance": the API's collection
};

struct DocumentOptions {
  std::vector<std::string> files;
  std::string target;
  std::string file;
  std::string comment;
  std::string if_match;
  std::uint64_t version = 0;
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  bool governance = false;
};

std::string documentPath(const Kind& k, const std::string& target) {
  return "/api/v1/" + k.path + "/" + urlEncode(target);
}

std::int64_t intOf(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number_integer() ? j[key].get<std::int64_t>() : 0;
}

// Offline: the compilers the sidecar and the server use. Output as `warden policy
// validate` always printed it: "FILE: ok (...)" or the error naming file, line and field.
int validateOffline(const DocumentOptions& o) {
  int failures = 0;
  for (const auto& f : o.files) {
    if (o.governance) {
      std::string text;
      try {
        text = readTextFile(f);
      } catch (const CliFailure& e) {
        std::cerr << "warden: " << e.what() << "\n";
        ++failures;
        continue;
      }
      auto parsed = governance::parseTargetGovernanceYaml(text, f);
      if (!parsed) {
        std::cerr << parsed.error().message << "\n";
        ++failures;
      } else {
        std::cout << f << ": ok (governance)\n";
      }
      continue;
    }
    auto compiled = policy::loadPolicyFile(f);
    if (!compiled) {
      std::cerr << compiled.error().message << "\n";
      ++failures;
      continue;
    }
    const std::string& target = (*compiled)->config().target;
    if (o.target.rfind("spiffe://", 0) == 0 && !target.empty() && target != o.target) {
      std::cerr << f << ": target: " << target << " is not --target " << o.target << "\n";
      ++failures;
      continue;
    }
    std::cout << f << ": ok (version \"" << (*compiled)->version() << "\")\n";
  }
  return failures == 0 ? 0 : kExitFailure;
}

// Online: the server's /validate (which also checks `target:` against the agent's ID).
int validateOnline(const CommandContext& c, const DocumentOptions& o) {
  const Kind k = o.governance ? Kind{"governance", "governance"} : Kind{"policy", "policies"};
  auto client = c.client();
  int failures = 0;
  json all = json::array();
  for (const auto& f : o.files) {
    json body{{"content", readTextFile(f)}};
    if (!o.target.empty()) body["target"] = o.target;
    const std::string what = "validating " + f;
    auto res = client->request(what, "POST", "/api/v1/" + k.path + "/validate", body);
    ApiClient::expectOk(what, res);
    const auto answer = jsonOf(what, res);
    const bool valid = answer.value("valid", false);
    if (!valid) ++failures;
    if (c.json) {
      all.push_back(json{{"file", f}, {"valid", valid}, {"errors", answer.value("errors", json::array())}});
    } else if (valid) {
      std::cout << f << ": ok (validated by " << client->baseUrl() << ")\n";
    } else {
      for (const auto& e : answer.value("errors", json::array())) {
        std::cerr << f << ": " << displayText(e.is_string() ? e.get<std::string>() : e.dump()) << "\n";
      }
    }
  }
  if (c.json) printJson(all);
  return failures == 0 ? 0 : kExitFailure;
}

// The current version (content, version, etag) or nullopt when the target has none.
std::optional<json> currentDocument(ApiClient& client, const Kind& k, const std::string& target,
                                    const std::string& what) {
  auto res = client.request(what, "GET", documentPath(k, target));
  if (res.status == 404 && res.errorCode() == "not_found") return std::nullopt;
  ApiClient::expectOk(what, res);
  auto doc = jsonOf(what, res);
  if (!res.etag.empty()) doc["etag"] = res.etag;
  return doc;
}

void addDocumentArea(CLI::App& app, CommandContext& c, CommandRegistry& registry, const Kind& k) {
  const bool is_policy = k.area == "policy";
  auto* area = app.add_subcommand(
      k.area, is_policy ? "Targets' developer policies (layers 1-3)"
                        : "Targets' admin governance (risk, state and tags: layers 4a/4b)");
  addConnectionOptions(area, c);
  area->require_subcommand(1);
  auto o = std::make_shared<DocumentOptions>();
  o->governance = !is_policy;

  auto* validate = area->add_subcommand(
      "validate", "Parse and compile files offline; with --server, ask the server instead");
  validate->add_option("files", o->files, "Files (YAML)")->required()->check(CLI::ExistingFile);
  if (is_policy) validate->add_flag("--governance", o->governance, "The files are governance documents");
  validate->add_option("--target", o->target,
                       "Target agent name or SPIFFE ID: the policy's target: must name it (an "
                       "agent's SPIFFE ID is looked up by the server; offline: SPIFFE IDs only)");
  registry.add(validate, [&c, o] {
    // Only --server on the command line goes online: WARDEN_SERVER alone keeps it offline.
    return c.connection.server.empty() ? validateOffline(*o) : validateOnline(c, *o);
  });

  auto* get = area->add_subcommand("get", "Print the live " + k.area + " (YAML; --json: with its metadata)");
  get->add_option("target", o->target, "Target agent")->required();
  get->add_option("--version", o->version, "An older version instead of the live one")
      ->check(CLI::PositiveNumber);
  registry.add(get, [&c, o, k] {
    auto client = c.client();
    const std::string what = "reading " + k.area + " " + o->target;
    std::string path = documentPath(k, o->target);
    if (o->version > 0) path += "/versions/" + std::to_string(o->version);
    auto res = client->request(what, "GET", path);
    ApiClient::expectOk(what, res);
    const auto body = jsonOf(what, res);
    if (c.json) return printJson(body), 0;
    std::cout << textOf(body, "content");
    return 0;
  });

  auto* diff = area->add_subcommand(
      "diff", "Unified diff: the live version against FILE, or --from N [--to M] on the server");
  diff->add_option("target", o->target, "Target agent")->required();
  diff->add_option("file", o->file, "Local file to compare with the live version")->check(CLI::ExistingFile);
  diff->add_option("--from", o->from, "Server-side diff from this version")->check(CLI::PositiveNumber);
  diff->add_option("--to", o->to, "... to this version (default: the live one)")->check(CLI::PositiveNumber);
  registry.add(diff, [&c, o, k] {
    if (o->file.empty() == (o->from == 0)) {
      throw CliFailure(k.area + " diff: give either FILE or --from N", kExitUsage);
    }
    if (o->to != 0 && o->from == 0) throw CliFailure(k.area + " diff: --to needs --from", kExitUsage);
    auto client = c.client();
    const std::string what = "comparing " + k.area + " " + o->target;
    if (o->from != 0) {
      std::string path = documentPath(k, o->target) + "/diff?from=" + std::to_string(o->from);
      if (o->to != 0) path += "&to=" + std::to_string(o->to);
      auto res = client->request(what, "GET", path);
      ApiClient::expectOk(what, res);
      std::cout << res.body;
      if (res.body.empty()) std::cerr << "warden: no differences\n";
      return 0;
    }
    const std::string local = readTextFile(o->file);
    const auto live = currentDocument(*client, k, o->target, what);
    const std::string live_label =
        o->target + (live ? "@v" + textOf(*live, "version") : std::string(" (no live version)"));
    const std::string text = controlplane::unifiedDiff(live ? textOf(*live, "content") : std::string(),
                                                       local, live_label, o->file);
    std::cout << text;
    if (text.empty()) std::cerr << "warden: no differences: " << o->file << " is " << live_label << "\n";
    return 0;
  });

  auto* apply = area->add_subcommand(
      "apply", "Store FILE as the new version (If-Match: the ETag read just before, or --if-match)");
  apply->add_option("target", o->target, "Target agent")->required();
  apply->add_option("file", o->file, "Document (YAML)")->required()->check(CLI::ExistingFile);
  apply->add_option("-m,--comment", o->comment, "Why (kept in the history)");
  apply->add_option("--if-match", o->if_match,
                    "The ETag you reviewed (e.g. from `get --json`); refused with 412 if it is "
                    "no longer the live version");
  registry.add(apply, [&c, o, k] {
    const std::string content = readTextFile(o->file);
    auto client = c.client();
    const std::string what = "applying " + k.area + " " + o->target;
    std::string etag = o->if_match;
    if (etag.empty()) {
      if (const auto live = currentDocument(*client, k, o->target, what)) etag = textOf(*live, "etag");
    }
    ApiClient::Headers headers;
    if (!etag.empty()) headers.emplace_back("If-Match", etag);
    auto res = client->request(what, "PUT", documentPath(k, o->target),
                               json{{"content", content}, {"comment", o->comment}}, headers);
    ApiClient::expectOk(what, res);
    const auto body = jsonOf(what, res);
    if (c.json) return printJson(body), 0;
    std::cout << (res.status == 201 ? "created " : "applied ") << k.area << " "
              << displayText(o->target) << ": version " << textOf(body, "version") << " ("
              << textOf(body, "etag") << ")\n";
    return 0;
  });

  auto* history = area->add_subcommand("history", "Every version, newest first");
  history->add_option("target", o->target, "Target agent")->required();
  registry.add(history, [&c, o, k] {
    auto client = c.client();
    const std::string what = "reading " + k.area + " " + o->target + "'s history";
    auto res = client->request(what, "GET", documentPath(k, o->target) + "/history");
    ApiClient::expectOk(what, res);
    const auto body = jsonOf(what, res);
    if (c.json) return printJson(body), 0;
    Table t({"VERSION", "TIME", "AUTHOR", "ACTION", "COMMENT"});
    for (const auto& v : body.value("history", json::array())) {
      std::string action = textOf(v, "action");
      if (v.contains("restored_from")) action += " (from v" + textOf(v, "restored_from") + ")";
      t.add({textOf(v, "version"), formatUnixTime(intOf(v, "time")),
             textOf(v.value("author", json::object()), "subject"), action, textOf(v, "comment")});
    }
    t.print(std::cout);
    return 0;
  });

  auto* rollback = area->add_subcommand("rollback", "Make an old version's content the new version");
  rollback->add_option("target", o->target, "Target agent")->required();
  rollback->add_option("version", o->version, "The version to restore")->required()->check(CLI::PositiveNumber);
  rollback->add_option("-m,--comment", o->comment, "Why (kept in the history)");
  rollback->add_option("--if-match", o->if_match, "The ETag you reviewed");
  registry.add(rollback, [&c, o, k] {
    auto client = c.client();
    const std::string what = "rolling back " + k.area + " " + o->target;
    std::string etag = o->if_match;
    if (etag.empty()) {
      const auto live = currentDocument(*client, k, o->target, what);
      if (!live) throw CliFailure(what + ": it has no versions");
      etag = textOf(*live, "etag");
    }
    auto res = client->request(what, "POST", documentPath(k, o->target) + "/rollback",
                               json{{"version", o->version}, {"comment", o->comment}},
                               {{"If-Match", etag}});
    ApiClient::expectOk(what, res);
    const auto body = jsonOf(what, res);
    if (c.json) return printJson(body), 0;
    std::cout << "rolled back " << k.area << " " << displayText(o->target) << " to version "
              << o->version << ": now version " << textOf(body, "version") << " ("
              << textOf(body, "etag") << ")\n";
    return 0;
  });
}

// --- policy explain ---

struct ExplainOptions {
  std::string caller, target, method = "GET", path, jwt, roles_claim = "roles";
  std::vector<std::string> roles;
  bool roles_given = false;
};

// The claim by exact name, then as a dotted path (as the sidecar's verifier reads it).
const json* findClaim(const json& payload, const std::string& name) {
  if (auto it = payload.find(name); it != payload.end()) return &*it;
  const json* current = &payload;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t dot = std::min(name.find('.', start), name.size());
    if (!current->is_object()) return nullptr;
    auto it = current->find(name.substr(start, dot - start));
    if (it == current->end()) return nullptr;
    current = &*it;
    start = dot + 1;
  }
  return current;
}

// The roles in a JWT's payload, decoded WITHOUT verifying anything.
std::vector<std::string> rolesFromUnverifiedJwt(const std::string& jwt, const std::string& claim) {
  const auto first = jwt.find('.');
  const auto second = first == std::string::npos ? std::string::npos : jwt.find('.', first + 1);
  if (second == std::string::npos) throw CliFailure("--token: not a JWT (header.payload.signature)", kExitUsage);
  const auto payload_text = jose::base64UrlDecode(jwt.substr(first + 1, second - first - 1));
  const json payload = payload_text ? json::parse(*payload_text, nullptr, false) : json();
  if (!payload.is_object()) throw CliFailure("--token: the JWT's payload is not a JSON object", kExitUsage);
  std::vector<std::string> roles;
  const json* value = findClaim(payload, claim);
  if (value != nullptr && value->is_array()) {
    for (const auto& r : *value) {
      if (r.is_string()) roles.push_back(r.get<std::string>());
    }
  } else if (value != nullptr && value->is_string()) {
    std::string text = value->get<std::string>();
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t space = std::min(text.find(' ', start), text.size());
      if (space > start) roles.push_back(text.substr(start, space - start));
      start = space + 1;
    }
  }
  return roles;
}

std::string joined(const json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& v : list) out += (out.empty() ? "" : ",") + (v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

void printExplanation(const json& e, const json& request) {
  // The server leaves caller, method and path out when it could not evaluate at all.
  auto field = [&](const char* key) {
    const std::string v = textOf(e, key);
    return v.empty() ? textOf(request, key) : v;
  };
  std::cout << "caller " << displayText(field("caller")) << " -> target " << displayText(field("target"))
            << ": " << displayText(field("method")) << " " << displayText(field("path")) << "\n";
  const json layers = e.value("layers", json::array());
  if (layers.empty()) {
    // Refused before any layer ran: a server older than its 400s for a malformed caller ID
    // or path answered with a verdict instead.
    std::cout << "decision: deny at " << displayText(textOf(e, "layer")) << ": "
              << displayText(textOf(e, "reason"));
    if (!textOf(e, "detail").empty()) std::cout << ": " << displayText(textOf(e, "detail"));
    std::cout << "\n";
    return;
  }
  Table t({"LAYER", "VERDICT", "REASON", "RULE/DETAIL"});
  for (const auto& l : layers) {
    std::string detail;
    auto add = [&](const std::string& part) {
      if (!part.empty()) detail += (detail.empty() ? "" : "; ") + part;
    };
    if (l.contains("rule")) add("rule " + textOf(l, "rule"));
    if (l.contains("required_roles")) add("requires roles " + (joined(l["required_roles"]).empty() ? std::string("(none)") : joined(l["required_roles"])));
    if (l.contains("missing_roles")) add("missing " + joined(l["missing_roles"]));
    add(textOf(l, "detail"));
    const std::string reason = textOf(l, "reason");
    t.add({textOf(l, "layer"), textOf(l, "verdict"), reason == "allowed" ? "" : reason, detail});
  }
  t.print(std::cout);
  if (textOf(e, "decision") == "allow") {
    std::cout << "decision: allow";
    if (!textOf(e, "rule").empty()) std::cout << " (rule " << displayText(textOf(e, "rule")) << ")";
  } else {
    std::cout << "decision: deny at " << displayText(textOf(e, "layer")) << ": "
              << displayText(textOf(e, "reason")) << " (HTTP " << textOf(e, "status");
    if (!textOf(e, "rule").empty()) std::cout << ", rule " << displayText(textOf(e, "rule"));
    std::cout << ")";
  }
  std::cout << "\n";
  std::string versions;
  if (!textOf(e, "policy_version").empty()) versions += "policy " + textOf(e, "policy_version");
  if (!textOf(e, "governance_version").empty()) {
    versions += (versions.empty() ? "" : ", ") + std::string("governance ") + textOf(e, "governance_version");
  }
  if (!versions.empty()) std::cout << "evaluated: " << displayText(versions) << "\n";
}

void addExplain(CLI::App& policy, CommandContext& c, CommandRegistry& registry) {
  auto* explain = policy.add_subcommand(
      "explain", "What if: every layer's verdict for a request (exit 0 allowed, 1 denied)");
  auto o = std::make_shared<ExplainOptions>();
  explain->add_option("--caller", o->caller, "Caller: agent name or SPIFFE ID")->required();
  explain->add_option("--target", o->target, "Target agent name")->required();
  explain->add_option("--method", o->method, "HTTP method (default GET)");
  explain->add_option("--path", o->path, "Request path")->required();
  auto* roles = explain->add_option("--roles", o->roles, "The token's roles (comma-separated)")->delimiter(',');
  auto* jwt = explain->add_option(
      "--token,--jwt", o->jwt,
      "An access token whose roles to use: its payload is decoded, NOT verified (pass the "
      "bearer token for the API before `explain` or in WARDEN_TOKEN)");
  explain->add_option("--roles-claim", o->roles_claim, "Claim holding the roles in --token (default roles)");
  roles->excludes(jwt);
  registry.add(explain, [&c, o, roles] {
    json body{{"caller", o->caller}, {"target", o->target}, {"method", o->method}, {"path", o->path}};
    if (roles->count() > 0) body["roles"] = o->roles;
    if (!o->jwt.empty()) {
      const auto from_token = rolesFromUnverifiedJwt(o->jwt, o->roles_claim);
      body["roles"] = from_token;
      std::string list;
      for (const auto& r : from_token) list += (list.empty() ? "" : ",") + r;
      (c.json ? std::cerr : std::cout)
          << "note: roles [" << displayText(list) << "] taken from the token's \"" << o->roles_claim
          << "\" claim; the token was decoded only: its signature, issuer, audience and expiry "
             "were NOT verified\n";
    }
    auto client = c.client();
    // Flags are echoed into the one error line: shown as displayText so that a stray
    // control character cannot break it in two.
    const std::string what = displayText("explaining " + o->method + " " + o->path + " from " +
                                         o->caller + " to " + o->target);
    auto res = client->request(what, "POST", "/api/v1/explain", body);
    ApiClient::expectOk(what, res);
    const auto answer = jsonOf(what, res);
    if (c.json) {
      printJson(answer);
    } else {
      printExplanation(answer, body);
    }
    return textOf(answer, "decision") == "allow" ? 0 : kExitFailure;
  });
}

}  // namespace

void addDocumentCommands(CLI::App& app, CommandContext& c, CommandRegistry& registry) {
  addDocumentArea(app, c, registry, Kind{"policy", "policies"});
  addDocumentArea(app, c, registry, Kind{"governance", "governance"});
  addExplain(*app.get_subcommand("policy"), c, registry);
}

}  // namespace warden::cli
