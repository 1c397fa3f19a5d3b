// The identity half of `warden server`: the issuer, its Workload API sockets, its bundle
// endpoint and its federation relationships, started and stopped together.
// Thread-safety: start() returns a running server; accessors may be called from any
// thread; the destructor stops everything (Workload API first, so no caller sees an
// issuer that is shutting down).
#pragma once

#include <memory>

#include "common/result.h"
#include "issuer/federation.h"
#include "issuer/issuer.h"
#include "issuer/server_config.h"
#include "issuer/workload_api_server.h"

namespace warden::issuer {

struct IdentityServerTuning {
  std::chrono::milliseconds rotation_tick{std::chrono::seconds(1)};
  FederationTiming federation;
};

class IdentityServer {
 public:
  static Result<std::unique_ptr<IdentityServer>> start(const IdentityServerConfig& config,
                                                       IdentityServerTuning tuning = {});
  ~IdentityServer();

  Issuer& issuer() { return *issuer_; }
  // 0 when no bundle endpoint is configured.
  std::uint16_t bundleEndpointPort() const;
  FederationFetcher* federation() { return federation_.get(); }

 private:
  IdentityServer() = default;
  std::unique_ptr<Issuer> issuer_;
  std::unique_ptr<FederationFetcher> federation_;
  std::unique_ptr<BundleEndpointServer> bundle_endpoint_;
  std::unique_ptr<WorkloadApiServer> workload_api_;
};

}  // namespace warden::issuer
