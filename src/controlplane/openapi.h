// The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json; tests check that
// every documented operation answers and that the document stays valid JSON.
#pragma once

#include <string_view>

namespace warden::controlplane {

std::string_view openApiDocument();

}  // namespace warden::controlplane
