// warden audit query | tail | export: the control plane's audit store (/api/v1/audit).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>

#include <fcntl.h>
#include <unistd.h>

#include "cli/admin_internal.h"
#include "cli/table.h"

namespace warden::cli {
namespace {

using nlohmann::json;

struct AuditOptions {
  std::string caller, target, decision, layer, reason, path, request_id, since, until;
  std::uint64_t after = 0;
  int limit = 50;
  std::string format = "jsonl";
  std::string output = "-";
};

// --since/--until: unix seconds, a duration back from now (90s, 15m, 2h, 7d), or a UTC
// date or time (2026-11-24, 2026-11-24T13:59:25Z).
std::int64_t parseTime(const std::string& text, const char* flag) {
  const auto bad = [&]() -> CliFailure {
    return CliFailure(std::string(flag) + ": expected unix seconds, a duration such as 15m, 2h or 7d, "
                      "or a UTC time such as 2026-11-24T13:59:25Z",
                      kExitUsage);
  };
  if (text.empty()) throw bad();
  const bool digits = text.find_first_not_of("0123456789") == std::string::npos;
  if (digits && text.size() <= 12) return std::stoll(text);
  const char unit = text.back();
  const std::string number = text.substr(0, text.size() - 1);
  if (!number.empty() && number.size() <= 9 && number.find_first_not_of("0123456789") == std::string::npos) {
    const std::int64_t n = std::stoll(number);
    std::int64_t scale = 0;
    switch (unit) {
      case 's': scale = 1; break;
      case 'm': scale = 60; break;
      case 'h': scale = 3600; break;
      case 'd': scale = 86400; break;
      default: throw bad();
    }
    return static_cast<std::int64_t>(std::time(nullptr)) - n * scale;
  }
  std::tm tm{};
  for (const char* format : {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"}) {
    tm = std::tm{};
    const char* end = ::strptime(text.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') return static_cast<std::int64_t>(::timegm(&tm));
  }
  throw bad();
}

// An agent name stands for its SPIFFE ID (the audit store keeps IDs).
std::string spiffeIdOf(ApiClient& client, const std::string& who, const char* flag) {
  if (who.empty() || who.rfind("spiffe://", 0) == 0) return who;
  const std::string what = std::string(flag) + " " + who;
  auto res = client.request(what, "GET", "/api/v1/agents/" + urlEncode(who));
  if (res.status == 404) {
    throw CliFailure(what + ": no agent of that name (give a registered name or a SPIFFE ID)");
  }
  ApiClient::expectOk(what, res);
  const std::string id = textOf(jsonOf(what, res), "spiffe_id");
  if (id.empty()) throw CliFailure(what + ": the agent has no SPIFFE ID");
  return id;
}

// The filters as a query string ("" or "?a=b&...").
std::string queryString(ApiClient& client, const AuditOptions& o, bool with_limit) {
  std::vector<std::pair<std::string, std::string>> q;
  if (!o.caller.empty()) q.emplace_back("caller", spiffeIdOf(client, o.caller, "--caller"));
  if (!o.target.empty()) q.emplace_back("target", spiffeIdOf(client, o.target, "--target"));
  for (const auto& [key, value] : {std::pair{"decision", &o.decision}, std::pair{"layer", &o.layer},
                                   std::pair{"reason", &o.reason}, std::pair{"path", &o.path},
                                   std::pair{"request_id", &o.request_id}}) {
    if (!value->empty()) q.emplace_back(key, *value);
  }
  if (!o.since.empty()) q.emplace_back("from", std::to_string(parseTime(o.since, "--since")));
  if (!o.until.empty()) q.emplace_back("to", std::to_string(parseTime(o.until, "--until")));
  if (o.after != 0) q.emplace_back("after", std::to_string(o.after));
  if (with_limit) q.emplace_back("limit", std::to_string(o.limit));
  std::string out;
  for (const auto& [k, v] : q) out += (out.empty() ? "?" : "&") + k + "=" + urlEncode(v);
  return out;
}

// "2026-11-24T13:59:25.010178Z" -> "2026-11-24T13:59:25Z".
std::string shortTime(const std::string& rfc3339) {
  if (rfc3339.size() > 20 && rfc3339[19] == '.') return rfc3339.substr(0, 19) + "Z";
  return rfc3339;
}

void addFilters(CLI::App* sub, AuditOptions& o) {
  sub->add_option("--caller", o.caller, "Caller: agent name or SPIFFE ID");
  sub->add_option("--target", o.target, "Target: agent name or SPIFFE ID");
  sub->add_option("--decision", o.decision, "allow or deny")->check(CLI::IsMember({"allow", "deny"}));
  sub->add_option("--layer", o.layer, "transport, risk, tags, rbac, token or proxy");
  sub->add_option("--reason", o.reason, "Reason code (rule_denied, risk_too_high, ...)");
  sub->add_option("--path", o.path, "Path contains this text");
  sub->add_option("--request-id", o.request_id, "One request's id");
  sub->add_option("--since", o.since, "From: unix seconds, 15m/2h/7d ago, or 2026-11-24T13:59:25Z");
  sub->add_option("--until", o.until, "To: same forms as --since");
}

// One event as one line (tail).
std::string eventLine(const json& e) {
  std::string line = shortTime(textOf(e, "time")) + "  " + textOf(e, "decision") + "  " +
                     textOf(e, "layer") + "/" + textOf(e, "reason") + "  " + textOf(e, "status") +
                     "  " + textOf(e, "caller") + " -> " + textOf(e, "target");
  if (!textOf(e, "method").empty() || !textOf(e, "path").empty()) {
    line += "  " + textOf(e, "method") + " " + textOf(e, "path");
  }
  return displayText(line);
}

extern "C" void endTail(int) { ::_exit(0); }

// Splits a server-sent event stream into events and prints each "data:" payload.
class SseReader {
 public:
  explicit SseReader(bool raw) : raw_(raw) {}
  void feed(std::string_view piece) {
    buffer_.append(piece);
    std::size_t end;
    while ((end = buffer_.find("\n\n")) != std::string::npos) {
      const std::string block = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      std::string data;
      std::size_t start = 0;
      while (start <= block.size()) {
        const std::size_t nl = std::min(block.find('\n', start), block.size());
        const std::string_view line(block.data() + start, nl - start);
        if (line.rfind("data:", 0) == 0) {
          std::string_view value = line.substr(5);
          if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          if (!data.empty()) data += '\n';
          data += value;
        }
        start = nl + 1;
      }
      if (data.empty()) continue;  // comments (": ping") and ids alone
      if (raw_) {
        std::cout << displayText(data) << std::endl;
      } else {
        const auto e = json::parse(data, nullptr, false);
        std::cout << (e.is_object() ? eventLine(e) : displayText(data)) << std::endl;
      }
    }
  }

 private:
  bool raw_;
  std::string buffer_;
};

}  // namespace

void addAuditCommands(CLI::App& app, CommandContext& c, CommandRegistry& registry) {
  auto* audit = app.add_subcommand("audit", "The control plane's audit store");
  addConnectionOptions(audit, c);
  audit->require_subcommand(1);
  auto o = std::make_shared<AuditOptions>();

  auto* query = audit->add_subcommand("query", "Query audit events, oldest first");
  addFilters(query, *o);
  query->add_option("--limit", o->limit, "At most this many events (1-1000, default 50)")
      ->check(CLI::Range(1, 1000));
  query->add_option("--after", o->after, "Only events after this id (the next page)");
  registry.add(query, [&c, o] {
    auto client = c.client();
    const std::string what = "querying audit events";
    auto res = client->request(what, "GET", "/api/v1/audit/events" + queryString(*client, *o, true));
    ApiClient::expectOk(what, res);
    const auto body = jsonOf(what, res);
    if (c.json) return printJson(body), 0;
    Table t({"ID", "TIME", "DECISION", "LAYER", "REASON", "STATUS", "CALLER", "TARGET", "METHOD", "PATH"});
    for (const auto& row : body.value("events", json::array())) {
      const json e = row.value("event", json::object());
      t.add({textOf(row, "id"), shortTime(textOf(e, "time")), textOf(e, "decision"), textOf(e, "layer"),
             textOf(e, "reason"), textOf(e, "status"), textOf(e, "caller"), textOf(e, "target"),
             textOf(e, "method"), textOf(e, "path")});
    }
    t.print(std::cout);
    if (body.contains("next_after") && !body["next_after"].is_null()) {
      std::cout << "more: --after " << body["next_after"].dump() << "\n";
    }
    return 0;
  });

  auto* tail = audit->add_subcommand("tail", "Print new audit events as they arrive, until Ctrl-C");
  addFilters(tail, *o);
  tail->add_option("--after", o->after, "Start after this event id (default: only new events)");
  registry.add(tail, [&c, o]() -> int {
    auto client = c.client();
    const std::string path = "/api/v1/audit/stream" + queryString(*client, *o, false);
    // Ctrl-C ends a tail normally: every printed line has been flushed already.
    std::signal(SIGINT, endTail);
    std::signal(SIGTERM, endTail);
    SseReader reader(c.json);
    // The banner waits for the stream's first bytes: only then has the server fixed where
    // "new" starts, so nothing shipped after the banner can be missed.
    bool announced = false;
    const std::string base = client->baseUrl();
    // The server sends a comment every 15 s; a minute of silence means it is gone.
    auto res = client->stream("following audit events", path,
                              [&reader, &announced, &base](std::string_view piece) {
                                if (!announced) {
                                  announced = true;
                                  std::cerr << "warden: following audit events from " << base
                                            << " (Ctrl-C to stop)" << std::endl;
                                }
                                reader.feed(piece);
                                return true;
                              },
                              std::chrono::seconds(60));
    ApiClient::expectOk("following audit events", res);
    throw CliFailure("following audit events: the server ended the stream");
  });

  auto* exp = audit->add_subcommand("export", "Export matching audit events as CSV or JSON lines");
  addFilters(exp, *o);
  exp->add_option("--format", o->format, "csv or jsonl (default jsonl)")->check(CLI::IsMember({"csv", "jsonl"}));
  exp->add_option("-o,--output", o->output, "File to write (created 0600), - for standard output");
  registry.add(exp, [&c, o] {
    auto client = c.client();
    const std::string what = "exporting audit events";
    std::string q = queryString(*client, *o, false);
    q += (q.empty() ? "?" : "&") + std::string("format=") + o->format;
    auto res = client->request(what, "GET", "/api/v1/audit/export" + q, std::nullopt, {}, std::size_t{1} << 30);
    ApiClient::expectOk(what, res);
    std::size_t lines = static_cast<std::size_t>(std::count(res.body.begin(), res.body.end(), '\n'));
    if (o->format == "csv" && lines > 0) --lines;  // the header
    if (o->output == "-") {
      std::cout << res.body << std::flush;
    } else {
      const std::string tmp = o->output + ".tmp";
      const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0) throw CliFailure(what + ": cannot write " + tmp);
      std::size_t done = 0;
      bool written = true;
      while (written && done < res.body.size()) {
        const ssize_t n = ::write(fd, res.body.data() + done, res.body.size() - done);
        if (n <= 0) written = false;
        else done += static_cast<std::size_t>(n);
      }
      written = ::close(fd) == 0 && written;
      if (!written || std::rename(tmp.c_str(), o->output.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw CliFailure(what + ": cannot write " + o->output);
      }
    }
    std::cerr << "warden: exported " << lines << " events (" << o->format << ")"
              << (o->output == "-" ? std::string() : " to " + o->output) << "\n";
    return 0;
  });
}

}  // namespace warden::cli
