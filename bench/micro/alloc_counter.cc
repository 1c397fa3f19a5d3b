#include "alloc_counter.h"

#include <cstdlib>
#include <new>

namespace {
thread_local std::uint64_t allocations = 0;
}  // namespace

namespace warden::bench {
std::uint64_t allocationCount() { return allocations; }
}  // namespace warden::bench

// Replacements for the plain forms; libstdc++'s nothrow, array and sized forms forward to
// them. The aligned forms are left alone (nothing on the measured paths over-aligns).
void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
