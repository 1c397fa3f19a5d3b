// Heap allocations made by the calling thread, for benchmarks that report allocations per
// iteration: this benchmark binary replaces the global operator new (alloc_counter.cc) so
// that every allocation through it is counted. malloc called directly (OpenSSL) is not.
// Thread-safety: the counter is thread-local.
#pragma once

#include <cstdint>

namespace warden::bench {

std::uint64_t allocationCount();

}  // namespace warden::bench
