#include "common/yaml_reader.h"

#include <charconv>
#include <filesystem>
#include <sstream>

namespace warden {

void YamlReader::fail(const YAML::Node& node, const std::string& path,
                      const std::string& what) const {
  std::ostringstream out;
  out << source_;
  if (node.IsDefined() && node.Mark().line >= 0) {
    out << ':' << node.Mark().line + 1 << ':' << node.Mark().column + 1;
  }
  out << ": " << path << ": " << what;
  throw YamlConfigError{out.str()};
}

void YamlReader::onlyKeys(const YAML::Node& map, const std::string& path,
                          std::initializer_list<const char*> allowed) const {
  if (!map.IsMap()) fail(map, path, "expected a mapping");
  for (const auto& kv : map) {
    const auto key = kv.first.as<std::string>();
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(kv.first, join(path, key), "unknown key (expected one of: " + list + ")");
    }
  }
}

std::string YamlReader::string(const YAML::Node& node, const std::string& path) const {
  if (!node.IsScalar()) fail(node, path, "expected a string");
  return node.as<std::string>();
}

std::string YamlReader::nonEmptyString(const YAML::Node& node, const std::string& path) const {
  auto s = string(node, path);
  if (s.empty()) fail(node, path, "must not be empty");
  return s;
}

std::uint64_t YamlReader::unsignedInteger(const YAML::Node& node, const std::string& path,
                                          std::uint64_t min, std::uint64_t max) const {
  if (!node.IsScalar()) fail(node, path, "expected an integer");
  const auto& text = node.Scalar();
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    fail(node, path, "expected a non-negative integer, got \"" + text + "\"");
  }
  if (v < min || v > max) {
    fail(node, path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return v;
}

bool YamlReader::boolean(const YAML::Node& node, const std::string& path) const {
  if (!node.IsScalar()) fail(node, path, "expected true or false");
  const auto& s = node.Scalar();
  if (s == "true") return true;
  if (s == "false") return false;
  fail(node, path, "expected true or false, got \"" + s + "\"");
}

std::chrono::milliseconds YamlReader::duration(const YAML::Node& node, const std::string& path,
                                               std::chrono::milliseconds min,
                                               std::chrono::milliseconds max) const {
  if (!node.IsScalar()) fail(node, path, "expected a duration such as 30s, 5m or 1h");
  const auto& text = node.Scalar();
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const std::string unit(end, text.data() + text.size());
  std::uint64_t ms_per_unit = 0;
  if (unit == "ms") ms_per_unit = 1;
  else if (unit == "s") ms_per_unit = 1000;
  else if (unit == "m") ms_per_unit = 60'000;
  else if (unit == "h") ms_per_unit = 3'600'000;
  else if (unit == "d") ms_per_unit = 86'400'000;
  if (ec != std::errc{} || end == text.data() || ms_per_unit == 0 ||
      v > (UINT64_MAX / ms_per_unit)) {
    fail(node, path, "expected a duration such as 500ms, 30s, 5m, 1h or 2d, got \"" + text + "\"");
  }
  const std::chrono::milliseconds d(static_cast<std::int64_t>(v * ms_per_unit));
  if (d < min || d > max) {
    fail(node, path, "must be between " + std::to_string(min.count()) + "ms and " +
                         std::to_string(max.count()) + "ms");
  }
  return d;
}

std::string resolveConfigPath(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p.front() == '/') return p;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

}  // namespace warden
