// The version of this Warden build (the CMake project version), as reported by the
// sidecar's status report and the control plane's health document.
#pragma once

#include <string_view>

namespace warden {

std::string_view wardenVersion();

}  // namespace warden
