#include "proxy/http_framing.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace warden::proxy {
namespace http = boost::beast::http;

namespace {

// The index of the first NUL, CR or LF at or after `i`, or bytes.size(): the only bytes
// scanHeaderBlock acts on. Sixteen bytes per step with SSE2 (eight with a word trick
// elsewhere), because a request with a bearer token carries a ~1 KB header line and a
// byte loop cost ~0.5 us per such request.
std::size_t nextLineByte(std::string_view bytes, std::size_t i) {
#if defined(__SSE2__)
  const __m128i nul = _mm_setzero_si128();
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  for (; i + 16 <= bytes.size(); i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes.data() + i));
    const __m128i hits = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, nul), _mm_cmpeq_epi8(v, cr)),
                                      _mm_cmpeq_epi8(v, lf));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(mask));
  }
#else
  // A word holds one of the bytes iff the word XOR that byte repeated has a zero byte.
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  const auto hasZeroByte = [](std::uint64_t v) { return ((v - kOnes) & ~v & kHighs) != 0; };
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, sizeof word);
    if (hasZeroByte(word) || hasZeroByte(word ^ (kOnes * '\r')) ||
        hasZeroByte(word ^ (kOnes * '\n'))) {
      break;
    }
  }
#endif
  while (i < bytes.size() && bytes[i] != '\0' && bytes[i] != '\r' && bytes[i] != '\n') ++i;
  return i;
}

}  // namespace

HeaderScan scanHeaderBlock(std::string_view bytes, std::size_t& end, std::string_view& why) {
  for (std::size_t i = nextLineByte(bytes, 0); i < bytes.size(); i = nextLineByte(bytes, i + 1)) {
    const char c = bytes[i];
    if (c == '\0') {
      why = "NUL byte in header";
      return HeaderScan::kMalformed;
    }
    if (c == '\r') {
      if (i + 1 == bytes.size()) return HeaderScan::kNeedMore;
      if (bytes[i + 1] != '\n') {
        why = "bare CR in header";
        return HeaderScan::kMalformed;
      }
      continue;
    }
    if (c != '\n') continue;
    if (i == 0 || bytes[i - 1] != '\r') {
      why = "bare LF in header";
      return HeaderScan::kMalformed;
    }
    // i is the LF of a CRLF. An empty line ends the head; a line starting with SP/HTAB
    // continues the previous one (obs-fold), which RFC 9112 §5.2 lets us reject.
    if (i + 1 == bytes.size()) return HeaderScan::kNeedMore;
    const char next = bytes[i + 1];
    if (next == ' ' || next == '\t') {
      why = "obsolete line folding in header";
      return HeaderScan::kMalformed;
    }
    if (next == '\r') {
      if (i + 2 == bytes.size()) return HeaderScan::kNeedMore;
      if (bytes[i + 2] != '\n') {
        why = "bare CR in header";
        return HeaderScan::kMalformed;
      }
      end = i + 3;
      return HeaderScan::kComplete;
    }
  }
  return HeaderScan::kNeedMore;
}

namespace {

// The framing-relevant fields of a head, found in one walk over its field list by the
// enum Beast parsed (each by-name lookup instead costs a tree search of case-insensitive
// string compares, and this runs for every request and every response).
struct FramingFields {
  std::size_t content_length = 0;
  bool content_length_list = false;  // some Content-Length holds a comma
  std::size_t transfer_encoding = 0;
  bool transfer_encoding_not_chunked = false;
  std::size_t host = 0;
};

FramingFields scanFramingFields(const http::fields& fields) {
  FramingFields s;
  for (const auto& f : fields) {
    switch (f.name()) {
      case http::field::content_length:
        ++s.content_length;
        if (f.value().find(',') != std::string_view::npos) s.content_length_list = true;
        break;
      case http::field::transfer_encoding:
        ++s.transfer_encoding;
        if (!boost::beast::iequals(f.value(), "chunked")) s.transfer_encoding_not_chunked = true;
        break;
      case http::field::host:
        ++s.host;
        break;
      default:
        break;
    }
  }
  return s;
}

std::string_view checkLengthFields(const FramingFields& s, unsigned version) {
  if (s.content_length_list) return "Content-Length must be one number";
  if (s.content_length > 1) return "repeated Content-Length";
  if (s.transfer_encoding_not_chunked) {
    return "unsupported Transfer-Encoding (only \"chunked\" is accepted)";
  }
  if (s.transfer_encoding > 1) return "repeated Transfer-Encoding";
  if (s.transfer_encoding > 0 && version < 11) return "Transfer-Encoding on HTTP/1.0";
  return {};
}

}  // namespace

std::string_view checkRequestFraming(const http::request_header<>& header) {
  const FramingFields s = scanFramingFields(header);
  if (auto why = checkLengthFields(s, header.version()); !why.empty()) return why;
  if (header.version() == 11) {
    if (s.host == 0) return "missing Host header";
    if (s.host > 1) return "repeated Host header";
  }
  return {};
}

std::string_view checkResponseFraming(const http::response_header<>& header) {
  return checkLengthFields(scanFramingFields(header), header.version());
}

void removeHopByHopFields(http::fields& fields) {
  // Two passes over the fields, comparing the field enum Beast parsed: no by-name
  // lookups and no allocation, as this runs twice per proxied request. Connection's own
  // tokens name further hop-by-hop fields (RFC 9110 §7.6.1); they are views into the
  // Connection fields' values, so those are erased last.
  boost::container::small_vector<http::fields::const_iterator, 2> connections;
  boost::container::small_vector<std::string_view, 4> named;
  for (auto it = fields.cbegin(); it != fields.cend(); ++it) {
    if (it->name() != http::field::connection) continue;
    connections.push_back(it);
    for (auto token : http::token_list(it->value())) {
      // Never let a client use Connection to strip framing fields or Host (an HTTP/1.1
      // request without Host is invalid, RFC 9112 §3.2).
      if (boost::beast::iequals(token, "content-length") ||
          boost::beast::iequals(token, "transfer-encoding") ||
          boost::beast::iequals(token, "host")) {
        continue;
      }
      named.emplace_back(token.data(), token.size());
    }
  }
  auto isNamed = [&named](std::string_view name) {
    for (const auto n : named) {
      if (boost::beast::iequals(n, name)) return true;
    }
    return false;
  };
  for (auto it = fields.cbegin(); it != fields.cend();) {
    switch (it->name()) {
      case http::field::connection:
        ++it;
        continue;
      case http::field::keep_alive:
      case http::field::proxy_connection:
      case http::field::te:
      case http::field::trailer:
      case http::field::upgrade:
      case http::field::proxy_authorization:
      case http::field::proxy_authenticate:
        it = fields.erase(it);
        continue;
      default:
        if (!named.empty() && isNamed(it->name_string())) {
          it = fields.erase(it);
        } else {
          ++it;
        }
    }
  }
  for (const auto& c : connections) fields.erase(c);
}

}  // namespace warden::proxy
