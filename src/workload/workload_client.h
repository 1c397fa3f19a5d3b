// Warden's SPIFFE Workload API client (what the sidecar uses to get its identity).
//
// X509Watcher keeps one FetchX509SVID stream open on a background thread. Every message is
// the complete state (spec §4.3): it is validated as a whole (≥1 SVID; every SVID has a
// parseable leaf-first DER chain whose leaf carries the SPIFFE ID, a PKCS#8 key matching
// the leaf, a DER bundle) and only then delivered; an invalid message is reported and
// discarded, never merged. The stream is reopened after it ends or fails, with bounded
// exponential backoff and jitter; INVALID_ARGUMENT and UNIMPLEMENTED are reported with
// will_retry=false (the spec says a client must not retry them: they are configuration
// errors), yet the watcher still tries again at the maximum backoff, so a sidecar pointed
// at a misconfigured or older agent recovers once the agent is fixed, without a restart.
// PERMISSION_DENIED, UNAVAILABLE and the rest are retried with the growing backoff. Every
// request carries `workload.spiffe.io: true`.
// Trust posture: the endpoint is trusted to name our identity (it is the local agent), but
// its messages are still checked for internal consistency before use.
// Thread-safety: callbacks run on the watcher's thread, one at a time, and may still be
// running until the destructor returns (so never destroy the watcher from a callback);
// the client's calls may be made from any thread.
#pragma once

#include <openssl/ossl_typ.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "identity/spiffe_bundle.h"
#include "workload/endpoint_address.h"
#include "workload/transport.h"

namespace warden::workload {

struct X509Svid {
  std::string spiffe_id;
  std::vector<std::shared_ptr<X509>> chain;  // leaf first
  std::shared_ptr<EVP_PKEY> private_key;
  std::string hint;
  std::time_t not_after = 0;  // the leaf's
  std::string chainPem() const;
  std::string keyPem() const;
};

struct X509Context {
  std::vector<X509Svid> svids;  // svids[0] is the default identity
  // Trust domain (bare name) -> X.509 authorities: the SVID's own trust domain plus every
  // federated bundle in the message (keys "spiffe://td" and "td" both accepted).
  std::map<std::string, std::vector<std::shared_ptr<X509>>> bundles;
  const X509Svid& defaultSvid() const { return svids.front(); }
};

class X509Watcher {
 public:
  using UpdateFn = std::function<void(const X509Context&)>;
  using ErrorFn = std::function<void(const WatchError&)>;
  // Starts watching at once; the first update arrives when the server's first message does.
  X509Watcher(EndpointAddress endpoint, UpdateFn on_update, ErrorFn on_error,
              BackoffPolicy backoff = {});
  ~X509Watcher();  // cancels the stream and joins the thread
  X509Watcher(const X509Watcher&) = delete;
  X509Watcher& operator=(const X509Watcher&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct JwtSvid {
  std::string spiffe_id;
  std::string token;
  std::string hint;
};

struct ValidatedJwtSvid {
  std::string spiffe_id;
  std::string claims_json;  // the Struct claims as JSON
};

// Unary calls and the first message of the bundle streams; each has a deadline.
class WorkloadClient {
 public:
  explicit WorkloadClient(EndpointAddress endpoint,
                          std::chrono::milliseconds deadline = std::chrono::seconds(5));
  ~WorkloadClient();
  WorkloadClient(const WorkloadClient&) = delete;
  WorkloadClient& operator=(const WorkloadClient&) = delete;

  Result<std::vector<JwtSvid>> fetchJwtSvids(const std::vector<std::string>& audiences,
                                             const std::string& spiffe_id = {});
  // Trust domain (bare) -> bundle of JWT authorities.
  Result<std::map<std::string, identity::SpiffeBundle>> fetchJwtBundles();
  // Trust domain (bare) -> X.509 authorities (FetchX509Bundles' first message).
  Result<std::map<std::string, std::vector<std::shared_ptr<X509>>>> fetchX509Bundles();
  Result<ValidatedJwtSvid> validateJwtSvid(const std::string& audience, const std::string& token);
  // One-shot FetchX509SVID (first message), validated like the watcher does.
  Result<X509Context> fetchX509Context();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::workload
