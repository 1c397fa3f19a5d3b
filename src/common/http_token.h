// RFC 9110 §5.6.2 tokens: what a method or a header field name is made of.
#pragma once

#include <string_view>

namespace warden {

constexpr bool isHttpTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A non-empty run of token characters.
constexpr bool isHttpToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!isHttpTokenChar(c)) return false;
  }
  return true;
}

}  // namespace warden
