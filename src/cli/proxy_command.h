// `warden proxy --config sidecar.yaml` and `warden config validate FILE`; also the whole of
// `warden-proxy` (proxy_main.cc), the sidecar-only binary.
#pragma once

#include <string>

namespace warden::cli {

// Runs the sidecar until SIGINT/SIGTERM (SIGHUP reloads policy and identity). `program`
// prefixes startup errors ("warden proxy: ...").
int runProxy(const std::string& program, const std::string& config_path,
             const std::string& log_level);
// Loads a sidecar config with its policy and credentials; prints "FILE: ok" or the error.
int validateProxyConfig(const std::string& config_path);

}  // namespace warden::cli
