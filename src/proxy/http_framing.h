// Strict HTTP/1.1 framing checks layered on Beast's parser (RFC 9112).
//
// Beast already rejects Content-Length together with Transfer-Encoding, differing
// Content-Length values, bad chunk sizes and oversized headers. What it tolerates, and
// what a proxy in front of other parsers must not (request smuggling: a request that the
// proxy frames one way and the app another), is rejected here:
//   - bare LF or bare CR in the header block, NUL bytes, obs-fold (RFC 9112 §5.2);
//   - repeated Content-Length, even with equal values, or a list value ("5, 5");
//   - Transfer-Encoding other than exactly "chunked" (a request whose TE does not end in
//     chunked has no determinable length, RFC 9112 §6.3), or TE on HTTP/1.0;
//   - missing or repeated Host on HTTP/1.1 (RFC 9112 §3.2).
// Thread-safety: pure functions.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/fields.hpp>
#include <string_view>

namespace warden::proxy {

enum class HeaderScan {
  kNeedMore,   // no complete header block yet, nothing wrong so far
  kComplete,   // a full header block (ends with CRLF CRLF), clean
  kMalformed,  // reject with 400 and close
};

// Scans the bytes received so far for a request or response head. `end` receives the
// length of the head (through the final CRLF CRLF) when complete; `why` a short reason
// when malformed.
HeaderScan scanHeaderBlock(std::string_view bytes, std::size_t& end, std::string_view& why);

// Post-parse checks on a request's header; returns an empty view when acceptable, else a
// short reason safe to send to the client.
std::string_view checkRequestFraming(const boost::beast::http::request_header<>& header);
// Same for a response from an upstream.
std::string_view checkResponseFraming(const boost::beast::http::response_header<>& header);

// Removes hop-by-hop fields (RFC 9110 §7.6.1): the ones named in Connection, plus
// Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authorization,
// Proxy-Authenticate. Transfer-Encoding and Content-Length (framing) and Host stay.
void removeHopByHopFields(boost::beast::http::fields& fields);

}  // namespace warden::proxy
