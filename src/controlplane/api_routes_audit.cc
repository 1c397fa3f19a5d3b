// /api/v1/audit: sidecars ship their audit events here (idempotent per sidecar and
// sequence number); people query, export and tail them (docs/control-plane.md#audit).
#include <boost/asio/this_coro.hpp>

#include <limits>

#include "controlplane/api_context.h"
#include "controlplane/audit_stats.h"
#include "controlplane/distribution.h"

namespace warden::controlplane::api {
namespace {

constexpr std::size_t kMaxExportRows = 100000;

std::variant<AuditQuery, HttpResponse> queryFrom(const Route& r) {
  AuditQuery q;
  q.caller = r.queryValue("caller");
  q.target = r.queryValue("target");
  q.decision = r.queryValue("decision");
  q.layer = r.queryValue("layer");
  q.reason = r.queryValue("reason");
  q.request_id = r.queryValue("request_id");
  q.path_contains = r.queryValue("path");
  if (!q.decision.empty() && q.decision != "allow" && q.decision != "deny") {
    return error(400, "invalid_request", "decision: expected allow or deny");
  }
  for (auto [key, out, scale] : std::initializer_list<std::tuple<const char*, std::int64_t*, std::int64_t>>{
           {"from", &q.from_unix_us, 1000000}, {"to", &q.to_unix_us, 1000000}}) {
    const std::string text = r.queryValue(key);
    if (text.empty()) continue;
    auto n = parseInt(text);
    if (!n || *n > std::numeric_limits<std::int64_t>::max() / scale) {
      return error(400, "invalid_request", std::string(key) + ": expected unix seconds");
    }
    *out = *n * scale;
  }
  if (auto text = r.queryValue("after"); !text.empty()) {
    auto n = parseInt(text);
    if (!n) return error(400, "invalid_request", "after: expected an event id");
    q.after_id = static_cast<std::uint64_t>(*n);
  }
  if (auto text = r.queryValue("limit"); !text.empty()) {
    auto n = parseInt(text);
    if (!n || *n < 1 || *n > 1000) return error(400, "invalid_request", "limit: expected 1..1000");
    q.limit = static_cast<std::size_t>(*n);
  }
  return q;
}

// The raw text of every `events[i].event` of an audit batch whose JSON has already been
// parsed and validated, in order, so each line is stored exactly as the sidecar wrote it
// (docs/audit.md: field order, escapes). nullopt if the text is not shaped as expected.
class BatchScanner {
 public:
  explicit BatchScanner(std::string_view text) : s_(text) {}

  std::optional<std::vector<std::string_view>> events() {
    std::vector<std::string_view> out;
    bool ok = object([&](const std::string& key) {
      if (key != "events") return skipValue();
      if (!expect('[')) return false;
      if (peek(']')) return expect(']');
      do {
        bool found = false;
        if (!object([&](const std::string& member) {
              if (member != "event") return skipValue();
              space();
              const std::size_t start = i_;
              if (!skipValue()) return false;
              out.push_back(s_.substr(start, i_ - start));
              found = true;
              return true;
            })) {
          return false;
        }
        if (!found) return false;
      } while (comma());
      return expect(']');
    });
    if (!ok) return std::nullopt;
    return out;
  }

 private:
  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool peek(char c) {
    space();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool expect(char c) {
    if (!peek(c)) return false;
    ++i_;
    return true;
  }
  bool comma() { return expect(','); }
  // At '"': past the closing quote; the decoded text in `out` when given.
  bool string(std::string* out) {
    space();
    const std::size_t start = i_;
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    for (++i_; i_ < s_.size(); ++i_) {
      if (s_[i_] == '\\') {
        ++i_;
      } else if (s_[i_] == '"') {
        ++i_;
        if (out != nullptr) {
          auto decoded = json::parse(s_.substr(start, i_ - start), nullptr, false);
          if (!decoded.is_string()) return false;
          *out = decoded.get<std::string>();
        }
        return true;
      }
    }
    return false;
  }
  bool skipValue() {
    space();
    if (i_ >= s_.size()) return false;
    if (s_[i_] == '"') return string(nullptr);
    if (s_[i_] == '{' || s_[i_] == '[') {
      int depth = 0;
      while (i_ < s_.size()) {
        const char c = s_[i_];
        if (c == '"') {
          if (!string(nullptr)) return false;
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') --depth;
        ++i_;
        if (depth == 0) return true;
      }
      return false;
    }
    const std::size_t start = i_;
    while (i_ < s_.size() && std::string_view(",]} \t\r\n").find(s_[i_]) == std::string_view::npos) ++i_;
    return i_ > start;
  }
  // An object whose members are handed to `member` (positioned after the ':').
  template <class F>
  bool object(F&& member) {
    if (!expect('{')) return false;
    if (peek('}')) return expect('}');
    do {
      std::string key;
      if (!string(&key) || !expect(':') || !member(key)) return false;
    } while (comma());
    return expect('}');
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

std::string csvField(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += "\"\"";
    else out.push_back(ch);
  }
  return out + "\"";
}

std::string csvRow(const AuditRow& row) {
  auto j = json::parse(row.json_line, nullptr, false);
  if (!j.is_object()) return {};
  auto s = [&](const char* key) -> std::string {
    if (!j.contains(key)) return {};
    return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
  };
  std::string line = std::to_string(row.id);
  for (const char* key : {"time", "request_id", "decision", "layer", "reason", "status", "caller",
                          "target", "method", "path", "rule_id", "policy_version"}) {
    line += "," + csvField(s(key));
  }
  return line + "," + csvField(row.source) + "\r\n";
}

}  // namespace

boost::asio::awaitable<HttpResponse> audit(Context& c, Route& r) {
  const auto& seg = r.segments;
  if (seg.size() != 2) co_return error(404, "not_found", "no such route");
  const std::string& what = seg[1];

  if (what == "events" && r.method == "POST") {
    // Sidecars only: the source of every line is the SVID that shipped it.
    if (r.principal.role != Role::kSidecar) {
      co_return error(403, "forbidden", "only a registered agent's sidecar ships audit events");
    }
    auto body = jsonBody(r);
    if (auto* res = std::get_if<HttpResponse>(&body)) co_return std::move(*res);
    const json& b = std::get<json>(body);
    if (!b.contains("events") || !b["events"].is_array()) {
      co_return error(400, "invalid_request", "events: expected a list of {seq, event}");
    }
    // The spool id keeps sequence numbers of a re-created spool from colliding with the
    // old one's (audit/audit_spool.h): the dedup key is (sidecar, spool, seq).
    std::string source = r.principal.subject;
    if (b.contains("spool")) {
      const auto& spool = b["spool"];
      const bool valid = spool.is_string() && !spool.get<std::string>().empty() &&
                         spool.get<std::string>().size() <= 64 &&
                         spool.get<std::string>().find_first_not_of("0123456789abcdef") == std::string::npos;
      if (!valid) co_return error(400, "invalid_request", "spool: expected a lower-case hex id");
      source += "#" + spool.get<std::string>();
    }
    // Each line as the sidecar wrote it; re-encoded (compact) only when the sender spread
    // an event over several lines, which would break the JSON-lines export.
    auto raw = BatchScanner(r.request->body()).events();
    if (raw && raw->size() != b["events"].size()) raw.reset();
    std::vector<AuditLine> lines;
    lines.reserve(b["events"].size());
    for (std::size_t i = 0; i < b["events"].size(); ++i) {
      const auto& e = b["events"][i];
      if (!e.is_object() || !e.contains("seq") || !e["seq"].is_number_unsigned() ||
          !e.contains("event") || !e["event"].is_object()) {
        co_return error(400, "invalid_request",
                        "events[" + std::to_string(i) + "]: expected {seq: integer, event: object}");
      }
      std::string line;
      if (raw && (*raw)[i].find_first_of("\r\n") == std::string_view::npos) {
        line = std::string((*raw)[i]);
      } else {
        line = e["event"].dump();
      }
      lines.push_back({e["seq"].get<std::uint64_t>(), std::move(line)});
    }
    auto added = c.store.insertAuditEvents(source, lines);
    if (!added) co_return storeError(added.error());
    if (*added > 0) c.audit_waiters.notifyAll();
    co_return ok(json{{"received", lines.size()}, {"stored", *added}});
  }
  if (r.method != "GET" && r.method != "HEAD") co_return error(405, "method_not_allowed", "use GET");
  if (!r.principal.canRead()) co_return error(403, "forbidden", "reading audit needs a signed-in role");
  if (what == "stats") {
    // Aggregated by the store in SQL; the range bounds keep the scan and the answer small.
    auto range = parseAuditStatsRange(r.query, static_cast<std::int64_t>(std::time(nullptr)));
    if (!range) co_return error(400, "invalid_request", range.error().message);
    auto stats = c.store.auditStats(storeQueryFor(*range));
    if (!stats) co_return storeError(stats.error());
    auto agents = c.store.listAgents();
    if (!agents) co_return storeError(agents.error());
    std::map<std::string, std::string> names;
    for (const auto& a : *agents) {
      if (!a.spiffe_id.empty()) names[a.spiffe_id] = a.name;
    }
    co_return ok(auditStatsJson(*range, *stats, names));
  }
  auto parsed = queryFrom(r);
  if (auto* res = std::get_if<HttpResponse>(&parsed)) co_return std::move(*res);
  AuditQuery q = std::get<AuditQuery>(parsed);

  if (what == "events") {
    auto page = c.store.queryAuditEvents(q);
    if (!page) co_return storeError(page.error());
    // The stored lines are JSON already: splice them rather than re-encode.
    std::string body = "{\"events\":[";
    for (std::size_t i = 0; i < page->rows.size(); ++i) {
      if (i) body.push_back(',');
      body += "{\"id\":" + std::to_string(page->rows[i].id) + ",\"source\":" +
              json(page->rows[i].source).dump() + ",\"event\":" + page->rows[i].json_line + "}";
    }
    body += "],\"next_after\":" +
            (page->next_after_id ? std::to_string(*page->next_after_id) : std::string("null")) + "}";
    co_return net::jsonResponse(200, std::move(body));
  }
  if (what == "export") {
    const std::string format = r.queryValue("format", "jsonl");
    if (format != "jsonl" && format != "csv") co_return error(400, "invalid_request", "format: jsonl or csv");
    std::string body;
    if (format == "csv") {
      body = "id,time,request_id,decision,layer,reason,status,caller,target,method,path,rule_id,"
             "policy_version,source\r\n";
    }
    q.limit = 1000;
    std::size_t rows = 0;
    for (;;) {
      auto page = c.store.queryAuditEvents(q);
      if (!page) co_return storeError(page.error());
      for (const auto& row : page->rows) {
        body += format == "csv" ? csvRow(row) : row.json_line + "\n";
        ++rows;
      }
      if (!page->next_after_id || rows >= kMaxExportRows) break;
      q.after_id = *page->next_after_id;
    }
    HttpResponse res{boost::beast::http::status::ok, 11};
    res.set(boost::beast::http::field::content_type,
            format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson");
    res.set(boost::beast::http::field::content_disposition,
            std::string("attachment; filename=\"warden-audit.") + format + "\"");
    res.body() = std::move(body);
    co_return res;
  }
  if (what == "stream") {
    // Server-sent events: every stored event after the cursor (Last-Event-ID, `after`, or
    // the newest at connect), then new ones as sidecars ship them; a comment every 15 s
    // keeps proxies from timing the stream out.
    if (auto last = r.header("last-event-id"); !last.empty()) {
      auto n = parseInt(last);
      if (!n) co_return error(400, "invalid_request", "Last-Event-ID: expected an event id");
      q.after_id = static_cast<std::uint64_t>(*n);
    } else if (r.queryValue("after").empty()) {
      AuditQuery newest = q;
      newest.after_id = 0;
      // Walk to the end once; events are ordered by id.
      for (;;) {
        auto page = c.store.queryAuditEvents(newest);
        if (!page) co_return storeError(page.error());
        if (!page->rows.empty()) newest.after_id = page->rows.back().id;
        if (!page->next_after_id) break;
        newest.after_id = *page->next_after_id;
      }
      q.after_id = newest.after_id;
    }
    HttpResponse head{boost::beast::http::status::ok, 11};
    head.set(boost::beast::http::field::content_type, "text/event-stream");
    head.set(boost::beast::http::field::cache_control, "no-store");
    if (!co_await r.exchange->startStream(std::move(head))) co_return HttpResponse{};
    if (!co_await r.exchange->sendChunk(": connected\n\n")) co_return HttpResponse{};
    q.limit = 500;
    while (!r.exchange->stopping()) {
      const std::uint64_t seen = c.audit_waiters.epoch();
      auto page = c.store.queryAuditEvents(q);
      if (!page) break;
      std::string chunk;
      for (const auto& row : page->rows) {
        chunk += "id: " + std::to_string(row.id) + "\ndata: " + row.json_line + "\n\n";
        q.after_id = row.id;
      }
      if (!chunk.empty()) {
        if (!co_await r.exchange->sendChunk(chunk)) break;
        if (page->next_after_id) continue;
      }
      co_await c.audit_waiters.wait(*c.ioc, seen, std::chrono::seconds(15));
      if (r.exchange->stopping()) break;
      // Quiet for 15 s: a comment keeps proxies from timing the stream out.
      if (c.audit_waiters.epoch() == seen && !co_await r.exchange->sendChunk(": ping\n\n")) break;
    }
    co_return HttpResponse{};
  }
  co_return error(404, "not_found", "no such route");
}

boost::asio::awaitable<HttpResponse> distribution(Context& c, Route& r) {
  if (r.segments.size() != 2 || r.segments[1] != "view" || r.method != "GET") {
    co_return error(404, "not_found", "no such route");
  }
  std::string agent_name = r.principal.agent;
  if (r.principal.role != Role::kSidecar) {
    // People may preview any agent's view (the portal shows what a sidecar enforces).
    if (!r.principal.canRead()) co_return error(403, "forbidden", "no view for this identity");
    agent_name = r.queryValue("agent");
    if (agent_name.empty()) co_return error(400, "invalid_request", "agent: which agent's view");
  }
  auto known = r.queryValue("generation");
  if (!known.empty()) {
    auto n = parseInt(known);
    if (!n) co_return error(400, "invalid_request", "generation: expected an integer");
    // Capped at long_poll_max before scaling: a huge `wait` must not overflow into a
    // negative (immediate) budget.
    const auto max_wait = std::chrono::duration_cast<std::chrono::seconds>(c.config.long_poll_max);
    const auto wait = std::min<std::int64_t>(parseInt(r.queryValue("wait", "0")).value_or(0),
                                             max_wait.count());
    const auto budget = std::chrono::milliseconds(std::chrono::seconds(wait));
    const auto deadline = std::chrono::steady_clock::now() + budget;
    for (;;) {
      const std::uint64_t seen = c.config_waiters.epoch();
      if (c.store.generation() != static_cast<std::uint64_t>(*n) || r.exchange->stopping()) break;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      co_await c.config_waiters.wait(*c.ioc, seen, left);
    }
    if (c.store.generation() == static_cast<std::uint64_t>(*n)) {
      HttpResponse res{boost::beast::http::status::not_modified, 11};
      res.set(boost::beast::http::field::cache_control, "no-store");
      co_return res;
    }
  }
  auto agent = c.store.getAgent(agent_name);
  if (!agent) co_return storeError(agent.error());
  auto view = buildSidecarView(c.store, *agent, static_cast<std::int64_t>(std::time(nullptr)));
  if (!view) co_return storeError(view.error());
  co_return ok(*view);
}

}  // namespace warden::controlplane::api
