// Fuzz target: proxy::scanHeaderBlock on the bytes a peer has sent so far.
//
// The input is the receive buffer. Checked, beyond "does not crash":
//   - kComplete: 4 <= end <= size, bytes[end-4, end) == CRLF CRLF and it is the first
//     CRLF CRLF; no NUL, bare CR, bare LF or obs-fold before end;
//   - kNeedMore: nothing wrong and no CRLF CRLF in the buffer;
//   - kMalformed: a reason is given;
//   - the verdict (and end) equals a naive whole-buffer re-implementation of the rules;
//   - the scan is online: every prefix of the buffer gets kNeedMore or kMalformed, or
//     kComplete with the very same end (a proxy reading in pieces must frame the head
//     exactly as one reading it at once), and extra bytes after a complete head never
//     change the verdict.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "proxy/http_framing.h"

namespace {

using warden::proxy::HeaderScan;

struct Scan {
  HeaderScan result = HeaderScan::kNeedMore;
  std::size_t end = 0;
};

Scan scan(std::string_view bytes) {
  Scan s;
  std::string_view why;
  s.end = static_cast<std::size_t>(-1);  // must be written on kComplete
  s.result = warden::proxy::scanHeaderBlock(bytes, s.end, why);
  if (s.result == HeaderScan::kMalformed) FUZZ_CHECK(!why.empty(), "malformed without reason");
  return s;
}

// Whether bytes[0, limit) holds any of the things RFC 9112 §5.2 lets us reject (and that
// scanHeaderBlock promises to reject). A CR as the very last byte is not (yet) bare.
bool hasViolation(std::string_view bytes, std::size_t limit) {
  for (std::size_t j = 0; j < limit; ++j) {
    const char c = bytes[j];
    if (c == '\0') return true;
    if (c == '\r' && j + 1 < limit && bytes[j + 1] != '\n') return true;
    if (c == '\n' && (j == 0 || bytes[j - 1] != '\r')) return true;
    if (c == '\n' && j + 1 < limit && (bytes[j + 1] == ' ' || bytes[j + 1] == '\t')) {
      return true;  // obs-fold: a line that starts with SP/HTAB
    }
  }
  return false;
}

// The rules applied to the whole buffer at once, with no state machine.
Scan naiveScan(std::string_view bytes) {
  const std::size_t blank = bytes.find("\r\n\r\n");
  const std::size_t limit = blank == std::string_view::npos ? bytes.size() : blank + 4;
  if (hasViolation(bytes, limit)) return {HeaderScan::kMalformed, 0};
  if (blank != std::string_view::npos) return {HeaderScan::kComplete, limit};
  return {HeaderScan::kNeedMore, 0};
}

const char* name(HeaderScan r) {
  switch (r) {
    case HeaderScan::kNeedMore:
      return "kNeedMore";
    case HeaderScan::kComplete:
      return "kComplete";
    case HeaderScan::kMalformed:
      return "kMalformed";
  }
  return "?";
}

void checkPrefix(std::string_view bytes, const Scan& whole, std::size_t k) {
  const Scan part = scan(bytes.substr(0, k));
  if (whole.result == HeaderScan::kComplete && k >= whole.end) {
    FUZZ_CHECK(part.result == HeaderScan::kComplete && part.end == whole.end,
               "prefix of length " + std::to_string(k) + " -> " + name(part.result));
    return;
  }
  // Before the end of a complete head every prefix is clean; otherwise a prefix may have
  // already shown the violation, but it can never look complete.
  FUZZ_CHECK(part.result != HeaderScan::kComplete,
             "prefix of length " + std::to_string(k) + " complete at " +
                 std::to_string(part.end));
  if (whole.result == HeaderScan::kComplete || whole.result == HeaderScan::kNeedMore) {
    FUZZ_CHECK(part.result == HeaderScan::kNeedMore,
               "prefix of length " + std::to_string(k) + " -> " + name(part.result) +
                   " but the whole buffer -> " + name(whole.result));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Scan whole = scan(bytes);

  if (whole.result == HeaderScan::kComplete) {
    FUZZ_CHECK(whole.end >= 4 && whole.end <= size, "end " + std::to_string(whole.end));
    FUZZ_CHECK(bytes.substr(whole.end - 4, 4) == "\r\n\r\n", "head does not end in CRLF CRLF");
    FUZZ_CHECK(bytes.find("\r\n\r\n") == whole.end - 4, "not the first empty line");
    FUZZ_CHECK(!hasViolation(bytes, whole.end), "complete head contains a violation");
  } else if (whole.result == HeaderScan::kNeedMore) {
    FUZZ_CHECK(bytes.find("\r\n\r\n") == std::string_view::npos, "missed the end of the head");
    FUZZ_CHECK(!hasViolation(bytes, size), "missed a violation");
  }

  const Scan naive = naiveScan(bytes);
  FUZZ_CHECK(whole.result == naive.result,
             std::string("scanHeaderBlock -> ") + name(whole.result) + ", naive -> " +
                 name(naive.result));
  if (whole.result == HeaderScan::kComplete) {
    FUZZ_CHECK(whole.end == naive.end, "end " + std::to_string(whole.end) + ", naive " +
                                           std::to_string(naive.end));
  }

  // Online property. Every prefix for small inputs; for large ones the prefixes around
  // the interesting offsets (start, end of head, end of buffer) and a stride in between.
  if (size <= 256) {
    for (std::size_t k = 0; k < size; ++k) checkPrefix(bytes, whole, k);
  } else {
    for (std::size_t k = 0; k < 8; ++k) checkPrefix(bytes, whole, k);
    for (std::size_t k = size - 8; k < size; ++k) checkPrefix(bytes, whole, k);
    if (whole.result == HeaderScan::kComplete) {
      for (std::size_t k = whole.end - 4; k <= std::min(size - 1, whole.end + 1); ++k) {
        checkPrefix(bytes, whole, k);
      }
    }
    for (std::size_t k = 8; k < size - 8; k += size / 32) checkPrefix(bytes, whole, k);
  }
  return 0;
}
