// warden agents ..., warden risk set, warden state set: the registry (/api/v1/agents).
#include <iostream>

#include "cli/admin_internal.h"
#include "cli/table.h"

namespace warden::cli {
namespace {

using nlohmann::json;

std::string agentPath(const std::string& name) { return "/api/v1/agents/" + urlEncode(name); }

std::string tagsText(const json& tags) {
  std::string out;
  if (!tags.is_object()) return out;
  for (const auto& [k, v] : tags.items()) {
    out += (out.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

std::string rolesText(const json& roles) {
  std::string out;
  if (!roles.is_object()) return out;
  for (const auto& [aud, list] : roles.items()) {
    std::string names;
    for (const auto& r : list) names += (names.empty() ? "" : ",") + (r.is_string() ? r.get<std::string>() : r.dump());
    out += (out.empty() ? "" : "; ") + aud + ": " + names;
  }
  return out;
}

std::int64_t intOf(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number_integer() ? j[key].get<std::int64_t>() : 0;
}

// "agent NAME: state S, risk R (revision N)" after a change.
void printAgentSummary(const CommandContext& c, const json& a, const std::string& verb) {
  if (c.json) return printJson(a);
  std::cout << "agent " << displayText(textOf(a, "name")) << " " << verb << ": state "
            << textOf(a, "state") << ", risk " << textOf(a, "risk");
  if (const auto tags = tagsText(a.value("tags", json::object())); !tags.empty()) {
    std::cout << ", tags " << displayText(tags);
  }
  std::cout << " (revision " << textOf(a, "revision") << ")\n";
}

void printAgent(const json& a) {
  Table t({"FIELD", "VALUE"});
  for (const char* key : {"name", "spiffe_id", "client_id", "display_name", "owner", "state", "risk",
                          "risk_source"}) {
    t.add({key, textOf(a, key)});
  }
  t.add({"risk_updated", formatUnixTime(intOf(a, "risk_updated"))});
  t.add({"tags", tagsText(a.value("tags", json::object()))});
  t.add({"roles", rolesText(a.value("roles", json::object()))});
  std::string federated;
  for (const auto& f : a.value("federated_credentials", json::array())) {
    federated += (federated.empty() ? "" : "; ") + textOf(f, "name") + " (" + textOf(f, "issuer") + ")";
  }
  t.add({"federated_credentials", federated});
  t.add({"trust_domain", textOf(a, "trust_domain")});
  t.add({"revision", textOf(a, "revision")});
  t.add({"created", formatUnixTime(intOf(a, "created"))});
  t.add({"updated", formatUnixTime(intOf(a, "updated"))});
  t.add({"etag", textOf(a, "etag")});
  t.print(std::cout);
}

// The agent's current ETag (for If-Match), or --if-match when given.
std::string currentEtag(ApiClient& client, const std::string& name, const std::string& given,
                        const std::string& what) {
  if (!given.empty()) return given;
  auto res = client.request(what, "GET", agentPath(name));
  ApiClient::expectOk(what, res);
  if (res.etag.empty()) throw CliFailure(what + ": the server sent no ETag");
  return res.etag;
}

json readJsonFile(const std::string& path) {
  const std::string text = readTextFile(path);
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw CliFailure(path + ": expected a JSON object (an agent)");
  return j;
}

struct AgentOptions {
  std::string name;
  std::string file;
  std::string if_match;
  std::string comment;
  std::string level;
  std::vector<std::string> tags;
  bool clear = false;
};

}  // namespace

void addAgentCommands(CLI::App& app, CommandContext& c, CommandRegistry& registry) {
  auto* agents = app.add_subcommand("agents", "The agent registry");
  addConnectionOptions(agents, c);
  agents->require_subcommand(1);
  auto o = std::make_shared<AgentOptions>();
  auto addName = [&](CLI::App* sub) { sub->add_option("name", o->name, "Agent name")->required(); };
  auto addComment = [&](CLI::App* sub) { sub->add_option("-m,--comment", o->comment, "Why (kept in the history)"); };

  auto* list = agents->add_subcommand("list", "List agents");
  registry.add(list, [&c] {
    auto client = c.client();
    const std::string what = "listing agents";
    auto res = client->request(what, "GET", "/api/v1/agents");
    ApiClient::expectOk(what, res);
    const auto body = jsonOf(what, res);
    if (c.json) return printJson(body), 0;
    Table t({"NAME", "SPIFFE ID", "STATE", "RISK", "TAGS", "REVISION"});
    for (const auto& a : body.value("agents", json::array())) {
      t.add({textOf(a, "name"), textOf(a, "spiffe_id"), textOf(a, "state"), textOf(a, "risk"),
             tagsText(a.value("tags", json::object())), textOf(a, "revision")});
    }
    t.print(std::cout);
    return 0;
  });

  auto* get = agents->add_subcommand("get", "Show one agent");
  addName(get);
  registry.add(get, [&c, o] {
    auto client = c.client();
    const std::string what = "reading agent " + o->name;
    auto res = client->request(what, "GET", agentPath(o->name));
    ApiClient::expectOk(what, res);
    const auto body = jsonOf(what, res);
    if (c.json) return printJson(body), 0;
    printAgent(body);
    return 0;
  });

  auto* create = agents->add_subcommand("create", "Register an agent from a JSON file");
  create->add_option("-f,--file", o->file, "Agent JSON (as `agents get --json` prints)")->required();
  addComment(create);
  registry.add(create, [&c, o] {
    json agent = readJsonFile(o->file);
    if (!o->comment.empty()) agent["comment"] = o->comment;
    auto client = c.client();
    const std::string what = "creating agent " + textOf(agent, "name");
    auto res = client->request(what, "POST", "/api/v1/agents", agent);
    ApiClient::expectOk(what, res);
    printAgentSummary(c, jsonOf(what, res), "created");
    return 0;
  });

  auto* update = agents->add_subcommand(
      "update", "Replace an agent with a JSON file (If-Match: the current ETag unless --if-match)");
  addName(update);
  update->add_option("-f,--file", o->file, "Agent JSON")->required();
  update->add_option("--if-match", o->if_match, "The ETag you read (refused with 412 if it changed since)");
  addComment(update);
  registry.add(update, [&c, o] {
    json agent = readJsonFile(o->file);
    if (!o->comment.empty()) agent["comment"] = o->comment;
    auto client = c.client();
    const std::string what = "updating agent " + o->name;
    const auto etag = currentEtag(*client, o->name, o->if_match, what);
    auto res = client->request(what, "PUT", agentPath(o->name), agent, {{"If-Match", etag}});
    ApiClient::expectOk(what, res);
    printAgentSummary(c, jsonOf(what, res), "updated");
    return 0;
  });

  auto* remove = agents->add_subcommand("delete", "Delete an agent");
  addName(remove);
  remove->add_option("--if-match", o->if_match, "The ETag you read");
  addComment(remove);
  registry.add(remove, [&c, o] {
    auto client = c.client();
    const std::string what = "deleting agent " + o->name;
    const auto etag = currentEtag(*client, o->name, o->if_match, what);
    std::optional<json> body;
    if (!o->comment.empty()) body = json{{"comment", o->comment}};
    auto res = client->request(what, "DELETE", agentPath(o->name), body, {{"If-Match", etag}});
    ApiClient::expectOk(what, res);
    if (c.json) return printJson(jsonOf(what, res)), 0;
    std::cout << "agent " << displayText(o->name) << " deleted\n";
    return 0;
  });

  auto* history = agents->add_subcommand("history", "Every revision of an agent");
  addName(history);
  registry.add(history, [&c, o] {
    auto client = c.client();
    const std::string what = "reading agent " + o->name + "'s history";
    auto res = client->request(what, "GET", agentPath(o->name) + "/history");
    ApiClient::expectOk(what, res);
    const auto body = jsonOf(what, res);
    if (c.json) return printJson(body), 0;
    Table t({"REVISION", "TIME", "ACTOR", "ACTION", "STATE", "RISK", "COMMENT"});
    for (const auto& v : body.value("history", json::array())) {
      const json agent = v.value("agent", json());
      t.add({textOf(v, "revision"), formatUnixTime(intOf(v, "time")),
             textOf(v.value("actor", json::object()), "subject"), textOf(v, "action"),
             textOf(agent, "state"), textOf(agent, "risk"), textOf(v, "comment")});
    }
    t.print(std::cout);
    return 0;
  });

  auto* isolate = agents->add_subcommand(
      "isolate", "Contain an agent: quarantined (denied everywhere) and risk high");
  addName(isolate);
  addComment(isolate);
  registry.add(isolate, [&c, o] {
    auto client = c.client();
    const std::string what = "isolating agent " + o->name;
    auto res = client->request(what, "POST", agentPath(o->name) + "/isolate", json{{"comment", o->comment}});
    ApiClient::expectOk(what, res);
    printAgentSummary(c, jsonOf(what, res), "isolated");
    return 0;
  });

  auto* restore = agents->add_subcommand("restore-access", "Undo isolate: enabled, risk --risk (default low)");
  addName(restore);
  restore->add_option("--risk", o->level, "Risk level to set (default low)")
      ->check(CLI::IsMember({"none", "low", "medium", "high"}));
  addComment(restore);
  registry.add(restore, [&c, o] {
    auto client = c.client();
    const std::string what = "restoring access of agent " + o->name;
    json body{{"comment", o->comment}};
    if (!o->level.empty()) body["risk"] = o->level;
    auto res = client->request(what, "POST", agentPath(o->name) + "/restore-access", body);
    ApiClient::expectOk(what, res);
    printAgentSummary(c, jsonOf(what, res), "restored");
    return 0;
  });

  auto* tags = agents->add_subcommand("tags", "Replace an agent's tags with KEY=VALUE ...");
  addName(tags);
  tags->add_option("tags", o->tags, "KEY=VALUE pairs (all of the agent's tags)");
  tags->add_flag("--clear", o->clear, "Remove every tag");
  tags->add_option("--if-match", o->if_match, "The ETag you read");
  addComment(tags);
  registry.add(tags, [&c, o] {
    if (o->tags.empty() && !o->clear) {
      throw CliFailure("agents tags: give KEY=VALUE pairs, or --clear to remove every tag", kExitUsage);
    }
    if (!o->tags.empty() && o->clear) throw CliFailure("agents tags: --clear takes no KEY=VALUE pairs", kExitUsage);
    json map = json::object();
    for (const auto& pair : o->tags) {
      const auto eq = pair.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw CliFailure("agents tags: expected KEY=VALUE, got \"" + displayText(pair) + "\"", kExitUsage);
      }
      map[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    auto client = c.client();
    const std::string what = "setting the tags of agent " + o->name;
    const auto etag = currentEtag(*client, o->name, o->if_match, what);
    auto res = client->request(what, "PUT", agentPath(o->name) + "/tags",
                               json{{"tags", map}, {"comment", o->comment}}, {{"If-Match", etag}});
    ApiClient::expectOk(what, res);
    printAgentSummary(c, jsonOf(what, res), "tagged");
    return 0;
  });

  // warden risk set NAME LEVEL, warden state set NAME STATE.
  struct Setter {
    const char* area;
    const char* help;
    const char* field;
    std::vector<std::string> values;
  };
  for (const Setter& s : {Setter{"risk", "Agent risk levels", "risk", {"none", "low", "medium", "high"}},
                          Setter{"state", "Agent states (the kill switch)", "state",
                                 {"enabled", "disabled", "quarantined"}}}) {
    auto* area = app.add_subcommand(s.area, s.help);
    addConnectionOptions(area, c);
    area->require_subcommand(1);
    auto* set = area->add_subcommand("set", std::string("Set an agent's ") + s.field);
    auto values = std::make_shared<AgentOptions>();
    set->add_option("name", values->name, "Agent name")->required();
    set->add_option("value", values->level, s.field)->required()->check(CLI::IsMember(s.values));
    set->add_option("-m,--comment", values->comment, "Why (kept in the history)");
    const std::string field = s.field;
    registry.add(set, [&c, values, field] {
      auto client = c.client();
      const std::string what = "setting the " + field + " of agent " + values->name;
      auto res = client->request(what, "PUT", agentPath(values->name) + "/" + field,
                                 json{{field, values->level}, {"comment", values->comment}});
      ApiClient::expectOk(what, res);
      printAgentSummary(c, jsonOf(what, res), "updated");
      return 0;
    });
  }
}

}  // namespace warden::cli
