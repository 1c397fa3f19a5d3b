// The Workload API's wire side (gRPC), kept apart from what Warden makes of the answers.
//
// workload_client.cc validates every message; a Transport only carries them, as plain
// standard-library data. The split exists for memory: gRPC, protobuf and Abseil are ~6 MB
// of resident pages in a process that loads them, and a sidecar that takes its identity
// from files never needs them. So `warden-proxy` loads the gRPC transport from a plugin
// (warden-workload-grpc.so, next to the binary; plugin_loader.cc) the first time a
// Workload API endpoint is used, while binaries that link gRPC anyway (`warden`, which
// also serves the Workload API, and the tests) link it in (linked_transport.cc). Exactly
// one of the two provides transportFactory() to an executable.
//
// The plugin and the binary come from one build and share this header, but no Warden code
// (they cannot share symbols: the binary exports none). kTransportAbiVersion changes
// whenever anything below does.
// Thread-safety: a Factory is immutable and shared; a Transport's calls may come from any
// thread; an X509Stream's callbacks run on its own thread, one at a time, until its
// destructor returns.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace warden::workload {

inline constexpr int kTransportAbiVersion = 1;

struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{5000};
};

struct WatchError {
  int grpc_code = 0;    // grpc::StatusCode value; 0 when the message itself was invalid
  std::string message;
  // false for INVALID_ARGUMENT and UNIMPLEMENTED: a configuration error that a quick retry
  // cannot fix. The watcher still retries those, but only at BackoffPolicy::max.
  bool will_retry = true;
};

namespace wire {

// The Workload API's messages (identity-standards §4.1), fields as sent, nothing checked.
struct X509Svid {
  std::string spiffe_id;
  std::string x509_svid;      // concatenated DER, leaf first
  std::string x509_svid_key;  // PKCS#8 DER
  std::string bundle;         // concatenated DER
  std::string hint;
};
using Bundles = std::vector<std::pair<std::string, std::string>>;  // key -> bytes, as sent
struct X509SvidResponse {
  std::vector<X509Svid> svids;
  Bundles federated_bundles;
};
struct JwtSvid {
  std::string spiffe_id;
  std::string svid;
  std::string hint;
};
struct JwtValidation {
  std::string spiffe_id;
  std::string claims_json;  // the Struct claims rendered as JSON
};

// The first message of each stream, and the unary calls, each within the deadline given
// to Factory::connect. Errors read "<RPC> failed: <CODE>: <message>".
class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<X509SvidResponse> fetchX509Svid() = 0;
  virtual Result<Bundles> fetchX509Bundles() = 0;
  virtual Result<std::vector<JwtSvid>> fetchJwtSvid(const std::vector<std::string>& audiences,
                                                    const std::string& spiffe_id) = 0;
  virtual Result<Bundles> fetchJwtBundles() = 0;
  virtual Result<JwtValidation> validateJwtSvid(const std::string& audience,
                                                const std::string& token) = 0;
};

// A FetchX509SVID subscription kept open (and reopened with backoff) on its own thread.
// on_message returns the reason a message is unusable, or an empty string once it has
// been delivered; either way the stream goes on (identity-standards §4.3).
class X509Stream {
 public:
  virtual ~X509Stream() = default;  // cancels the call and joins the thread
};
using X509MessageFn = std::function<std::string(const X509SvidResponse&)>;
using WatchErrorFn = std::function<void(const WatchError&)>;

class Factory {
 public:
  virtual int abiVersion() const = 0;
  // `target` is a gRPC target ("unix:/path", "ipv4:1.2.3.4:5"; EndpointAddress::grpcTarget).
  virtual std::unique_ptr<Transport> connect(const std::string& target,
                                             std::chrono::milliseconds deadline) const = 0;
  virtual std::unique_ptr<X509Stream> watchX509(const std::string& target,
                                                BackoffPolicy backoff,
                                                X509MessageFn on_message,
                                                WatchErrorFn on_error) const = 0;

 protected:
  ~Factory() = default;
};

}  // namespace wire

// The executable's transport: linked in, or loaded from the plugin on first use (an error
// then says which file could not be loaded and why; it is remembered, not retried).
Result<const wire::Factory*> transportFactory();

}  // namespace warden::workload
