// Reads this process's memory figures from /proc (Linux), for "memory stays flat" tests.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace warden::testing {

// Value of a "VmXXX:  N kB" line of /proc/self/status, in KiB (0 if absent).
inline std::uint64_t procStatusKib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1));
  }
  return 0;
}

}  // namespace warden::testing
