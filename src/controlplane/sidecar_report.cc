#include "controlplane/sidecar_report.h"

#include <string>
#include <vector>

#include "jose/jws.h"

namespace warden::controlplane {
namespace {

using nlohmann::json;

// The shape of a report, as data: one table per object, checked by one function.
enum class Type {
  kString,
  kInteger,   // any int64 (age_seconds is -1 when unknown)
  kCount,     // a non-negative integer
  kBool,
  kObject,    // `members` describes it
  kList,      // a list of objects that `members` describes
  kStringMap, // {name: string}
  kCounters,  // {name: {allow: count, deny: count}}
};

struct Field {
  const char* name;
  Type type;
  const std::vector<Field>* members = nullptr;
  bool required = false;
};

const std::vector<Field> kSvid = {
    {"spiffe_id", Type::kString}, {"not_after", Type::kInteger}, {"source", Type::kString}};
const std::vector<Field> kBundle = {
    {"trust_domain", Type::kString}, {"source", Type::kString}, {"updated_at", Type::kInteger}};
const std::vector<Field> kIssuer = {{"issuer", Type::kString},        {"ready", Type::kBool},
                                    {"keys", Type::kCount},           {"last_success", Type::kInteger},
                                    {"last_error", Type::kString}};
const std::vector<Field> kConfig = {
    {"policy_version", Type::kString}, {"governance_version", Type::kString},
    {"generation", Type::kCount},      {"age_seconds", Type::kInteger},
    {"stale", Type::kBool},            {"source", Type::kString}};
const std::vector<Field> kControlPlane = {{"connected", Type::kBool}, {"last_error", Type::kString}};
const std::vector<Field> kAuditShipping = {{"shipped", Type::kCount},
                                           {"backlog", Type::kCount},
                                           {"failures", Type::kCount},
                                           {"last_error", Type::kString}};
const std::vector<Field> kReport = {
    {"version", Type::kString, nullptr, true},
    {"started_at", Type::kCount, nullptr, true},
    {"interval_seconds", Type::kCount, nullptr, true},
    {"ready", Type::kBool},
    {"svid", Type::kObject, &kSvid},
    {"bundles", Type::kList, &kBundle},
    {"jwks", Type::kList, &kIssuer},
    {"config", Type::kObject, &kConfig},
    {"control_plane", Type::kObject, &kControlPlane},
    {"audit_shipping", Type::kObject, &kAuditShipping},
    {"listeners", Type::kStringMap},
    {"layers", Type::kCounters},
};

bool isCount(const json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
}

Result<json> check(const json& value, const Field& field, const std::string& path);

// The known members of `object`, each checked; unknown ones left out.
Result<json> checkObject(const json& object, const std::vector<Field>& fields, const std::string& path) {
  if (!object.is_object()) return Error{path + ": expected an object"};
  json out = json::object();
  for (const auto& f : fields) {
    const auto it = object.find(f.name);
    const std::string where = path.empty() ? f.name : path + "." + f.name;
    if (it == object.end() || it->is_null()) {
      if (f.required) return Error{where + ": is required"};
      continue;
    }
    auto checked = check(*it, f, where);
    if (!checked) return checked.error();
    out[f.name] = std::move(*checked);
  }
  return out;
}

Result<json> check(const json& v, const Field& f, const std::string& path) {
  switch (f.type) {
    case Type::kString:
      if (!v.is_string()) return Error{path + ": expected a string"};
      return v;
    case Type::kInteger:
      if (!v.is_number_integer()) return Error{path + ": expected an integer"};
      return v;
    case Type::kCount:
      if (!isCount(v)) return Error{path + ": expected a non-negative integer"};
      return v;
    case Type::kBool:
      if (!v.is_boolean()) return Error{path + ": expected true or false"};
      return v;
    case Type::kObject:
      return checkObject(v, *f.members, path);
    case Type::kList: {
      if (!v.is_array()) return Error{path + ": expected a list"};
      json out = json::array();
      for (std::size_t i = 0; i < v.size(); ++i) {
        auto item = checkObject(v[i], *f.members, path + "[" + std::to_string(i) + "]");
        if (!item) return item.error();
        out.push_back(std::move(*item));
      }
      return out;
    }
    case Type::kStringMap:
      if (!v.is_object()) return Error{path + ": expected an object"};
      for (const auto& [key, item] : v.items()) {
        if (!item.is_string()) return Error{path + "." + key + ": expected a string"};
      }
      return v;
    case Type::kCounters: {
      if (!v.is_object()) return Error{path + ": expected an object"};
      static const std::vector<Field> kCounts = {{"allow", Type::kCount, nullptr, true},
                                                 {"deny", Type::kCount, nullptr, true}};
      json out = json::object();
      for (const auto& [key, item] : v.items()) {
        auto counts = checkObject(item, kCounts, path + "." + key);
        if (!counts) return counts.error();
        out[key] = std::move(*counts);
      }
      return out;
    }
  }
  return Error{path + ": unsupported"};
}

}  // namespace

Result<SidecarReport> parseSidecarReport(std::string_view body) {
  if (body.size() > kMaxSidecarReportBytes) {
    return Error{"the report is larger than " + std::to_string(kMaxSidecarReportBytes) + " bytes"};
  }
  auto parsed = jose::parseJsonNoDuplicates(body);
  if (!parsed) return Error{parsed.error().message};
  if (!parsed->is_object()) return Error{"expected a JSON object"};
  auto document = checkObject(*parsed, kReport, "");
  if (!document) return document.error();
  const auto interval = (*document)["interval_seconds"].get<std::uint64_t>();
  if (interval < static_cast<std::uint64_t>(kMinReportInterval.count()) ||
      interval > static_cast<std::uint64_t>(kMaxReportInterval.count())) {
    return Error{"interval_seconds: expected " + std::to_string(kMinReportInterval.count()) + ".." +
                 std::to_string(kMaxReportInterval.count())};
  }
  SidecarReport out;
  out.interval = std::chrono::seconds(static_cast<std::int64_t>(interval));
  out.started_at = (*document)["started_at"].get<std::int64_t>();
  out.document = std::move(*document);
  return out;
}

}  // namespace warden::controlplane
