// Fuzz target: policy::normalizeRequestTarget on an attacker-controlled request target.
//
// The input is the raw request target, byte for byte. Checked, beyond "does not crash":
//   - accept/reject agrees with an independent reading of the contract in request_path.h
//     (origin-form; pchar, "/" and "?" only; well-formed escapes; no escaped "/", "\",
//     NUL or control byte in the path);
//   - an accepted path is in normal form: starts with "/", no "//", no "." or ".."
//     segment, no escape of an unreserved character, upper-case hex in the escapes kept,
//     no raw "\", NUL, control byte, space, "#" or "?";
//   - the query is the input's query verbatim;
//   - the path equals a deliberately naive normaliser (decode, merge slashes, then the
//     RFC 3986 §5.2.4 buffer algorithm, literally);
//   - normalising target() again is idempotent (same path, query, has_query).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "policy/request_path.h"

namespace {

bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 3986 pchar without pct-encoded: unreserved / sub-delims / ":" / "@".
bool isPcharLiteral(unsigned char c) {
  return isUnreserved(c) || std::string_view("!$&'()*+,;=:@").find(static_cast<char>(c)) !=
                                std::string_view::npos;
}

int hexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Escape at text[i] ("%XY"): its decoded byte, or -1 when malformed.
int escapeAt(std::string_view text, std::size_t i) {
  if (text.size() - i < 3) return -1;
  const int hi = hexValue(static_cast<unsigned char>(text[i + 1]));
  const int lo = hexValue(static_cast<unsigned char>(text[i + 2]));
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

// The contract's accept/reject decision, computed without the implementation's helpers.
bool shouldAccept(std::string_view target) {
  if (target.empty() || target.front() != '/') return false;
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c == '%') {
      const int decoded = escapeAt(path, i);
      if (decoded < 0 || decoded == '/' || decoded == '\\' ||
          isControl(static_cast<unsigned char>(decoded))) {
        return false;
      }
      i += 2;
    } else if (!isPcharLiteral(c) && c != '/') {
      return false;
    }
  }
  for (std::size_t i = 0; i < query.size(); ++i) {
    const auto c = static_cast<unsigned char>(query[i]);
    if (c == '%') {
      if (escapeAt(query, i) < 0) return false;
      i += 2;
    } else if (!isPcharLiteral(c) && c != '/' && c != '?') {
      return false;
    }
  }
  return true;
}

// Naive normaliser for an accepted path: decode unreserved escapes (upper-casing the rest),
// merge runs of "/", then RFC 3986 §5.2.4 remove_dot_segments exactly as the RFC writes it
// (an input buffer consumed from the left into an output buffer).
std::string naiveNormalizePath(std::string_view raw) {
  std::string decoded;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      decoded.push_back(raw[i]);
      continue;
    }
    const int value = escapeAt(raw, i);
    if (isUnreserved(static_cast<unsigned char>(value))) {
      decoded.push_back(static_cast<char>(value));
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      decoded.push_back('%');
      decoded.push_back(kHex[value / 16]);
      decoded.push_back(kHex[value % 16]);
    }
    i += 2;
  }
  std::string in;
  for (const char c : decoded) {
    if (c == '/' && !in.empty() && in.back() == '/') continue;
    in.push_back(c);
  }
  std::string out;
  const auto startsWith = [&in](std::string_view p) { return in.rfind(p, 0) == 0; };
  const auto dropLastOutputSegment = [&out] {
    const std::size_t slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (startsWith("../")) {
      in.erase(0, 3);                                   // A
    } else if (startsWith("./")) {
      in.erase(0, 2);                                   // A
    } else if (startsWith("/./")) {
      in.erase(0, 2);                                   // B: "/./" -> "/"
    } else if (in == "/.") {
      in = "/";                                         // B
    } else if (startsWith("/../")) {
      in.erase(0, 3);                                   // C: "/../" -> "/"
      dropLastOutputSegment();
    } else if (in == "/..") {
      in = "/";                                         // C
      dropLastOutputSegment();
    } else if (in == "." || in == "..") {
      in.clear();                                       // D
    } else {
      const std::size_t next = in.find('/', in.front() == '/' ? 1 : 0);  // E
      out.append(in, 0, next);
      in.erase(0, next);
    }
  }
  return out.empty() ? "/" : out;
}

void checkNormalForm(const std::string& path) {
  FUZZ_CHECK(!path.empty() && path.front() == '/', path);
  FUZZ_CHECK(path.find("//") == std::string::npos, path);
  FUZZ_CHECK(path.find("/./") == std::string::npos, path);
  FUZZ_CHECK(path.find("/../") == std::string::npos, path);
  const std::string_view view(path);
  FUZZ_CHECK(!(view.size() >= 2 && view.substr(view.size() - 2) == "/."), path);
  FUZZ_CHECK(!(view.size() >= 3 && view.substr(view.size() - 3) == "/.."), path);
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    FUZZ_CHECK(c != '\\' && c != '\0' && !isControl(c) && c != ' ' && c != '#' && c != '?',
               path);
    FUZZ_CHECK(c == '%' || c == '/' || isPcharLiteral(c), path);
    if (c != '%') continue;
    const int decoded = escapeAt(view, i);
    FUZZ_CHECK(decoded >= 0, path);
    // Kept escapes are upper-case and never of an unreserved or forbidden byte.
    FUZZ_CHECK(hexValue(static_cast<unsigned char>(path[i + 1])) >= 0 &&
                   !(path[i + 1] >= 'a' && path[i + 1] <= 'f') &&
                   !(path[i + 2] >= 'a' && path[i + 2] <= 'f'),
               path);
    const auto d = static_cast<unsigned char>(decoded);
    FUZZ_CHECK(!isUnreserved(d) && d != '/' && d != '\\' && !isControl(d), path);
    i += 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  const warden::Result<warden::policy::NormalizedTarget> result =
      warden::policy::normalizeRequestTarget(target);

  const bool accept = shouldAccept(target);
  FUZZ_CHECK(result.ok() == accept,
             result.ok() ? "accepted a target the contract rejects" : result.error().message);
  if (!result.ok()) {
    FUZZ_CHECK(!result.error().message.empty(), "empty error message");
    return 0;
  }

  const warden::policy::NormalizedTarget& n = result.value();
  checkNormalForm(n.path);

  const std::size_t question = target.find('?');
  FUZZ_CHECK(n.has_query == (question != std::string_view::npos), n.target());
  if (n.has_query) {
    FUZZ_CHECK(n.query == target.substr(question + 1), n.query);
  } else {
    FUZZ_CHECK(n.query.empty(), n.query);
  }
  FUZZ_CHECK(n.target() == (n.has_query ? n.path + "?" + n.query : n.path), n.target());

  const std::string naive = naiveNormalizePath(target.substr(0, question));
  FUZZ_CHECK(n.path == naive, "path " + n.path + " but naive normaliser says " + naive);

  const warden::Result<warden::policy::NormalizedTarget> again =
      warden::policy::normalizeRequestTarget(n.target());
  FUZZ_CHECK(again.ok(), "normalised target rejected: " + n.target());
  FUZZ_CHECK(again->path == n.path, again->path + " != " + n.path);
  FUZZ_CHECK(again->query == n.query && again->has_query == n.has_query, n.target());
  return 0;
}
