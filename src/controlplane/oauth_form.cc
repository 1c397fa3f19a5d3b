#include "controlplane/oauth_form.h"

#include <cctype>

#include "common/percent_decoding.h"

namespace warden::controlplane {
namespace {

}  // namespace

std::optional<FormParams> parseForm(std::string_view text) {
  FormParams out;
  while (!text.empty()) {
    const std::size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty())
      continue;
    const std::size_t eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq), PlusSign::kSpace);
    auto value =
        percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), PlusSign::kSpace);
    if (!key || !value)
      return std::nullopt;
    if (out.contains(*key))
      return std::nullopt;
    if (!value->empty())
      out.emplace(std::move(*key), std::move(*value));
  }
  return out;
}

std::string formEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string formValue(const FormParams& params, std::string_view key) {
  auto it = params.find(key);
  return it == params.end() ? std::string() : it->second;
}

bool formContentType(std::string_view type) {
  const std::string_view prefix = "application/x-www-form-urlencoded";
  if (type.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(type[i])) != prefix[i])
      return false;
  }
  return type.size() == prefix.size() || type[prefix.size()] == ';';
}

std::string htmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string withQuery(const std::string& uri, const std::string& query) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + query;
}

std::string originOf(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos)
    return {};
  const std::size_t end = url.find_first_of("/?#", scheme + 3);
  return std::string(url.substr(0, end));
}

bool noControlCharacters(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return false;
  }
  return true;
}

}  // namespace warden::controlplane
