#include "common/version.h"

namespace warden {

// WARDEN_VERSION is defined for this one file only (src/common/CMakeLists.txt), so a
// version bump recompiles one translation unit.
std::string_view wardenVersion() { return WARDEN_VERSION; }

}  // namespace warden
