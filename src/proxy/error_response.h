// Denial and error responses: a JSON body {"error","layer","request_id","message"} with
// a stable reason code (ARCHITECTURE.md §3). No policy internals, no peer details.
#pragma once

#include <string>
#include <string_view>

namespace warden::proxy {

std::string errorBody(std::string_view reason, std::string_view layer,
                      std::string_view request_id, std::string_view message);

// A short human message for a reason code.
std::string_view defaultMessage(std::string_view reason);

}  // namespace warden::proxy
