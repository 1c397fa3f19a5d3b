// A message head (start line, fields, empty line) as one contiguous string.
//
// The relay writes each head itself instead of through Beast's serializer: the
// serializer presents a head as a chain of small buffers (one per field piece) behind
// nested buffers_cat_view iterators, and walking that chain was the largest user-space
// item in a keep-alive profile. One pass over the fields into a reused string costs a
// fraction of it and gives the TLS stream a single buffer to encrypt.
// Thread-safety: pure functions.
#pragma once

#include <boost/beast/http/message.hpp>
#include <string>

namespace warden::proxy {

// Replaces `out` with the serialised head (RFC 9112 §2.1), fields in their stored order,
// then `extra_fields` (complete "Name: value\r\n" lines the sidecar adds), then CRLF.
void serializeHead(const boost::beast::http::request_header<>& head, std::string& out,
                   std::string_view extra_fields = {});
void serializeHead(const boost::beast::http::response_header<>& head, std::string& out,
                   std::string_view extra_fields = {});

}  // namespace warden::proxy
