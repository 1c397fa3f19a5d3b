#include "controlplane/etag.h"

#include <charconv>

namespace warden::controlplane {
namespace {

bool isOws(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOws(s.back())) s.remove_suffix(1);
  return s;
}

// etagc = %x21 / %x23-7E / obs-text
bool isEtagChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x7E) || u >= 0x80;
}

}  // namespace

std::string etagFor(std::string_view kind, std::string_view id, std::uint64_t version) {
  std::string out;
  out.reserve(kind.size() + id.size() + 24);
  out.push_back('"');
  out.append(kind);
  out.push_back('-');
  out.append(id);
  out.append("-v");
  out.append(std::to_string(version));
  out.push_back('"');
  return out;
}

std::optional<std::uint64_t> etagVersion(std::string_view etag, std::string_view kind,
                                         std::string_view id) {
  // Compare with the exact prefix rather than splitting at '-': ids contain dashes.
  std::string prefix = "\"";
  prefix.append(kind).append("-").append(id).append("-v");
  if (!etag.starts_with(prefix) || !etag.ends_with('"') || etag.size() < prefix.size() + 2) {
    return std::nullopt;
  }
  const std::string_view digits = etag.substr(prefix.size(), etag.size() - prefix.size() - 1);
  if (digits.empty() || digits.size() > 20 || (digits.size() > 1 && digits.front() == '0')) {
    return std::nullopt;  // one spelling per version: "v07" is not "v7"
  }
  std::uint64_t version = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (ec != std::errc() || end != digits.data() + digits.size() || version == 0) {
    return std::nullopt;
  }
  return version;
}

Result<IfMatch> parseIfMatch(std::string_view value) {
  IfMatch out;
  const std::string_view whole = trimOws(value);
  if (whole == "*") {
    out.any = true;
    return out;
  }
  bool any_element = false;
  std::string_view rest = whole;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view element = trimOws(rest.substr(0, comma));
    if (!element.empty()) {
      any_element = true;
      std::string_view tag = element;
      const bool weak = tag.starts_with("W/");
      if (weak) tag.remove_prefix(2);
      if (tag.size() < 2 || tag.front() != '"' || tag.back() != '"') {
        return makeError("If-Match: malformed entity-tag " + std::string(element));
      }
      for (char c : tag.substr(1, tag.size() - 2)) {
        if (!isEtagChar(c))
          return makeError("If-Match: malformed entity-tag " + std::string(element));
      }
      if (!weak) out.tags.emplace_back(tag);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!any_element) return makeError("If-Match: empty");
  return out;
}

bool ifMatchAccepts(const IfMatch& condition, std::string_view current_etag) {
  if (condition.any) return true;
  for (const auto& tag : condition.tags) {
    if (tag == current_etag) return true;
  }
  return false;
}

}  // namespace warden::controlplane
