// Strict YAML reading for config files: every error names the file, line, column and the
// field path ("ingress.listen: expected a string"), unknown keys are errors.
//
// Exceptions are used only inside config loading (a boundary): YamlConfigError is thrown
// by the reader and turned into an Error by the caller's loader (see parseSidecarConfig).
// Thread-safety: a Reader is immutable; use one per parse.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace warden {

struct YamlConfigError {
  std::string message;
};

class YamlReader {
 public:
  explicit YamlReader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& path,
                         const std::string& what) const;
  void onlyKeys(const YAML::Node& map, const std::string& path,
                std::initializer_list<const char*> allowed) const;
  std::string string(const YAML::Node& node, const std::string& path) const;
  std::string nonEmptyString(const YAML::Node& node, const std::string& path) const;
  std::uint64_t unsignedInteger(const YAML::Node& node, const std::string& path,
                                std::uint64_t min, std::uint64_t max) const;
  template <class Int>
  Int integer(const YAML::Node& node, const std::string& path, Int min, Int max) const {
    return static_cast<Int>(unsignedInteger(node, path, static_cast<std::uint64_t>(min),
                                            static_cast<std::uint64_t>(max)));
  }
  bool boolean(const YAML::Node& node, const std::string& path) const;
  // "90s", "5m", "1h", "250ms", "2d"; a bare integer is rejected (units are explicit).
  std::chrono::milliseconds duration(const YAML::Node& node, const std::string& path,
                                     std::chrono::milliseconds min,
                                     std::chrono::milliseconds max) const;

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

 private:
  std::string source_;
};

// Resolves `p` against `base_dir` unless it is absolute or empty.
std::string resolveConfigPath(const std::string& base_dir, const std::string& p);

}  // namespace warden
