// Lower-case hex encoding of bytes (digests, certificate thumbprints).
#pragma once

#include <cstddef>
#include <string>

namespace warden {

inline void appendHex(std::string& out, const unsigned char* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xF]);
  }
}

}  // namespace warden
