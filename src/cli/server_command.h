// `warden server --config server.yaml`: the control-plane process. Today it runs the
// embedded SPIFFE issuer (Workload API, bundle endpoint, federation); see docs/identity.md.
#pragma once

#include <string>

namespace warden::cli {

int runServer(const std::string& config_path);
// Parses and validates a server config; prints "FILE: ok" or the first error.
int validateServerConfig(const std::string& config_path);

}  // namespace warden::cli
