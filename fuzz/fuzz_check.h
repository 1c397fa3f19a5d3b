// FUZZ_CHECK: the always-fatal assertion of the fuzz targets. A violated invariant prints
// what failed (and where) and aborts, which libFuzzer reports as a crash with the input
// saved, and the corpus driver as a failed CTest case naming the corpus file. Never
// compiled out: in a fuzzer the check *is* the test.
// Thread-safety: stateless.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace warden::fuzz {

[[noreturn]] inline void checkFailed(const char* file, int line, const char* condition,
                                     std::string_view detail) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, condition);
  if (!detail.empty()) {
    std::fprintf(stderr, "  %.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  std::fflush(stderr);
  std::abort();
}

}  // namespace warden::fuzz

// `detail` is anything convertible to std::string_view; it is only evaluated on failure.
#define FUZZ_CHECK(condition, detail)                                            \
  do {                                                                           \
    if (!(condition)) {                                                          \
      ::warden::fuzz::checkFailed(__FILE__, __LINE__, #condition, (detail));     \
    }                                                                            \
  } while (false)
