#include "common/result.h"

namespace warden {

Error makeError(std::string message) { return Error{std::move(message)}; }

}  // namespace warden
