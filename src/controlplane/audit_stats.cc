#include "controlplane/audit_stats.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include "policy/decision.h"

namespace warden::controlplane {
namespace {

using nlohmann::json;

// Seconds that still fit in int64 once scaled to microseconds.
constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::int64_t>::max() / 1'000'000;

// A non-negative decimal of at most kMaxSeconds; nullopt for anything else.
std::optional<std::int64_t> parseSeconds(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::int64_t n = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + (ch - '0');  // 19 digits cannot overflow before the bound check below
    if (n > kMaxSeconds) return std::nullopt;
  }
  return n;
}

// The canonical order (ARCHITECTURE.md §2), then any other name the events stored, sorted.
std::vector<std::string> layerNames(const AuditStats& stats) {
  std::vector<std::string> names;
  for (auto layer : {policy::Layer::kTransport, policy::Layer::kRisk, policy::Layer::kTags,
                     policy::Layer::kRbac, policy::Layer::kToken, policy::Layer::kProxy}) {
    names.emplace_back(policy::toString(layer));
  }
  std::set<std::string> others;
  for (const auto& c : stats.counts) {
    if (std::find(names.begin(), names.end(), c.layer) == names.end()) others.insert(c.layer);
  }
  names.insert(names.end(), others.begin(), others.end());
  return names;
}

std::string nameOf(const std::map<std::string, std::string>& names, const std::string& id) {
  auto it = names.find(id);
  return it == names.end() ? std::string() : it->second;
}

}  // namespace

Result<AuditStatsRange> parseAuditStatsRange(const std::map<std::string, std::string>& query,
                                             std::int64_t now_unix) {
  auto value = [&](const char* key) -> std::optional<std::string> {
    auto it = query.find(key);
    if (it == query.end()) return std::nullopt;
    return it->second;
  };
  AuditStatsRange r;
  r.until = now_unix;
  if (auto text = value("until")) {
    auto n = parseSeconds(*text);
    if (!n) return makeError("until: expected Unix seconds, got \"" + *text + "\"");
    r.until = *n;
  }
  r.since = std::max<std::int64_t>(0, r.until - kDefaultStatsRangeSeconds);
  if (auto text = value("since")) {
    auto n = parseSeconds(*text);
    if (!n) return makeError("since: expected Unix seconds, got \"" + *text + "\"");
    r.since = *n;
  }
  if (auto text = value("bucket")) {
    auto n = parseSeconds(*text);
    if (!n || *n < 1) return makeError("bucket: expected a whole number of seconds >= 1, got \"" + *text + "\"");
    r.bucket = *n;
  }
  if (r.since >= r.until) {
    return makeError("since: must be before until (since " + std::to_string(r.since) + ", until " +
                     std::to_string(r.until) + ")");
  }
  const std::int64_t span = r.until - r.since;
  if (span > kMaxStatsRangeSeconds) {
    return makeError("until - since: at most " + std::to_string(kMaxStatsRangeSeconds) +
                     " seconds (7 days), got " + std::to_string(span));
  }
  r.buckets = span / r.bucket + (span % r.bucket != 0 ? 1 : 0);
  if (r.buckets > kMaxStatsBuckets) {
    const std::int64_t smallest = span / kMaxStatsBuckets + (span % kMaxStatsBuckets != 0 ? 1 : 0);
    return makeError("bucket: " + std::to_string(span) + " seconds in buckets of " +
                     std::to_string(r.bucket) + " is " + std::to_string(r.buckets) +
                     " buckets, at most " + std::to_string(kMaxStatsBuckets) +
                     " (use a bucket of at least " + std::to_string(smallest) + " seconds)");
  }
  return r;
}

AuditStatsQuery storeQueryFor(const AuditStatsRange& range) {
  AuditStatsQuery q;
  q.from_unix_us = range.since * 1'000'000;
  q.to_unix_us = range.until * 1'000'000;
  q.bucket_us = range.bucket * 1'000'000;
  return q;
}

json auditStatsJson(const AuditStatsRange& range, const AuditStats& stats,
                    const std::map<std::string, std::string>& names) {
  const std::vector<std::string> layers = layerNames(stats);
  json zero_layers = json::object();
  for (const auto& l : layers) zero_layers[l] = 0;

  json series = json::array();
  for (std::int64_t i = 0; i < range.buckets; ++i) {
    series.push_back(json{{"start", range.since + i * range.bucket}, {"allow", 0}, {"deny", 0},
                          {"deny_by_layer", zero_layers}});
  }
  json totals{{"allow", 0}, {"deny", 0}, {"deny_by_layer", zero_layers},
              {"deny_by_reason", json::object()}};
  for (const auto& c : stats.counts) {
    // The store buckets by the same range; a row outside it would be a store bug, and
    // must not index out of the series.
    if (c.bucket < 0 || c.bucket >= range.buckets) continue;
    json& b = series[static_cast<std::size_t>(c.bucket)];
    const char* decision = c.decision == "allow" ? "allow" : "deny";
    b[decision] = b[decision].get<std::uint64_t>() + c.count;
    totals[decision] = totals[decision].get<std::uint64_t>() + c.count;
    if (c.decision != "allow") {
      b["deny_by_layer"][c.layer] = b["deny_by_layer"][c.layer].get<std::uint64_t>() + c.count;
      totals["deny_by_layer"][c.layer] =
          totals["deny_by_layer"][c.layer].get<std::uint64_t>() + c.count;
    }
  }
  for (const auto& r : stats.deny_reasons) totals["deny_by_reason"][r.reason] = r.count;

  json edges = json::array();
  for (const auto& e : stats.edges) {
    edges.push_back(json{{"caller_id", e.caller},
                         {"caller_name", nameOf(names, e.caller)},
                         {"target_id", e.target},
                         {"target_name", nameOf(names, e.target)},
                         {"allow", e.allow},
                         {"deny", e.deny},
                         {"last_time_unix_us", e.last_time_unix_us},
                         {"last_decision", e.last_decision},
                         {"last_reason", e.last_reason}});
  }
  return json{{"since", range.since},
              {"until", range.until},
              {"bucket_seconds", range.bucket},
              {"series", std::move(series)},
              {"totals", std::move(totals)},
              {"edges", std::move(edges)},
              {"edges_truncated", stats.edges_truncated},
              {"layers", layers}};
}

}  // namespace warden::controlplane
