#include "cli/proxy_command.h"

#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>

#include "cli/signals.h"
#include "proxy/sidecar.h"
#include "proxy/sidecar_config.h"

namespace warden::cli {
namespace {

constexpr int kExitConfigError = 2;

}  // namespace

int runProxy(const std::string& program, const std::string& config_path,
             const std::string& log_level) {
  spdlog::set_level(spdlog::level::from_str(log_level));
  auto config = proxy::loadSidecarConfig(config_path);
  if (!config) {
    std::cerr << program << ": " << config.error().message << "\n";
    return kExitConfigError;
  }
  // Signals are handled synchronously by this thread (sigwait), so every thread the
  // sidecar starts must inherit a mask that blocks them.
  const sigset_t signals = blockTerminationSignals();

  auto sidecar = proxy::Sidecar::create(std::move(*config));
  if (!sidecar) {
    std::cerr << program << ": " << sidecar.error().message << "\n";
    return kExitConfigError;
  }
  if (auto st = (*sidecar)->start(); !st) {
    std::cerr << program << ": " << st.message() << "\n";
    return kExitConfigError;
  }
  auto& s = **sidecar;
  spdlog::info("{} ready: ingress={} egress={} admin={}", program,
               s.ingressEndpoint().port ? s.ingressEndpoint().str() : "-",
               s.egressEndpoint().port ? s.egressEndpoint().str() : "-",
               s.adminEndpoint().port ? s.adminEndpoint().str() : "-");
  for (;;) {
    const int sig = waitForSignal(signals);
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading policy and identity");
      if (auto st = s.reloadPolicy(); !st) spdlog::error("policy reload failed: {}", st.message());
      if (auto st = s.reloadIdentity(); !st) {
        spdlog::error("identity reload failed: {}", st.message());
      }
      continue;
    }
    spdlog::info("signal {}: draining", sig);
    s.stop(5000);
    return 0;
  }
}

int validateProxyConfig(const std::string& file) {
  auto config = proxy::loadSidecarConfig(file);
  if (!config) {
    std::cerr << config.error().message << "\n";
    return 1;
  }
  auto sidecar = proxy::Sidecar::create(std::move(*config));
  if (!sidecar) {
    std::cerr << file << ": " << sidecar.error().message << "\n";
    return 1;
  }
  std::cout << file << ": ok\n";
  return 0;
}

}  // namespace warden::cli
