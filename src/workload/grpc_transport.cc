#include "workload/grpc_transport.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <random>
#include <thread>

#include "workload.grpc.pb.h"

namespace warden::workload {
namespace {

// identity-standards §4.2: every request carries it; SPIRE rejects the call otherwise.
constexpr const char* kSecurityHeader = "workload.spiffe.io";
constexpr const char* kSecurityHeaderValue = "true";

// Errors are built here rather than with makeError: the plugin carries no Warden code
// beyond this file (transport.h).
Error fail(std::string message) { return Error{std::move(message)}; }

const char* codeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN_CODE";
  }
}

std::string describe(const char* rpc, const grpc::Status& status) {
  return std::string(rpc) + " failed: " + codeName(status.error_code()) + ": " +
         status.error_message();
}

// The spec's configuration errors (identity-standards §4.4): retrying soon cannot help.
bool isConfigurationError(grpc::StatusCode code) {
  return code == grpc::StatusCode::INVALID_ARGUMENT || code == grpc::StatusCode::UNIMPLEMENTED;
}

template <class ProtoMap>
wire::Bundles bundlesOf(const ProtoMap& map) {
  wire::Bundles out;
  out.reserve(map.size());
  for (const auto& [key, bytes] : map) out.emplace_back(key, bytes);
  return out;
}

wire::X509SvidResponse fromProto(const ::X509SVIDResponse& in) {
  wire::X509SvidResponse out;
  out.svids.reserve(static_cast<std::size_t>(in.svids_size()));
  for (const ::X509SVID& s : in.svids()) {
    out.svids.push_back(
        wire::X509Svid{s.spiffe_id(), s.x509_svid(), s.x509_svid_key(), s.bundle(), s.hint()});
  }
  out.federated_bundles = bundlesOf(in.federated_bundles());
  return out;
}

std::shared_ptr<grpc::Channel> makeChannel(const std::string& target,
                                           const BackoffPolicy& backoff) {
  grpc::ChannelArguments args;
  // gRPC's own reconnect backoff (1 s up to 120 s by default) would make calls fail fast
  // long after the server is back; align it with ours so our backoff is what decides.
  const int initial_ms = static_cast<int>(std::max<long long>(1, backoff.initial.count()));
  const int max_ms = static_cast<int>(std::max<long long>(initial_ms, backoff.max.count()));
  // GRPC_ARG_MIN_RECONNECT_BACKOFF_MS stays at its default: gRPC also uses it as the
  // connect timeout, and a short one fails every attempt on a busy machine.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, initial_ms);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_ms);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// Reads the first message of a server stream within the context's deadline, then
// cancels the rest: the unary-style helpers want a snapshot, not a subscription.
template <class Response>
Result<Response> firstMessage(grpc::ClientContext& context,
                              std::unique_ptr<grpc::ClientReader<Response>> reader,
                              const char* rpc) {
  Response response;
  if (reader->Read(&response)) {
    context.TryCancel();
    (void)reader->Finish();
    return response;
  }
  const grpc::Status status = reader->Finish();
  if (status.ok()) return fail(std::string(rpc) + ": the server ended the stream empty");
  return fail(describe(rpc, status));
}

// ---------------------------------------------------------------------------------------
// The FetchX509SVID subscription
//
// The stream thread's states:
//
//   connect --stream open--> reading --message ok--> deliver (reset backoff) --> reading
//      ^                        |  \--message bad--> report (code 0) ---------> reading
//      |                        v
//      +------ wait(delay) <-- stream ended: OK -> initial delay; error -> report, then
//                 |                  backoff (INVALID_ARGUMENT/UNIMPLEMENTED: max delay)
//                 v
//          stop requested (destructor) -> exit at once from any state
//
// The destructor sets `stopping`, cancels the open call with TryCancel (so a blocked
// Read returns); a wait notices within one 50 ms slice. The thread then exits and is
// joined.

class GrpcX509Stream final : public wire::X509Stream {
 public:
  GrpcX509Stream(const std::string& target, BackoffPolicy backoff, wire::X509MessageFn on_message,
                 wire::WatchErrorFn on_error)
      : on_message_(std::move(on_message)),
        on_error_(std::move(on_error)),
        backoff_(backoff),
        channel_(makeChannel(target, backoff)),
        stub_(SpiffeWorkloadAPI::NewStub(channel_)) {
    thread_ = std::thread([this] { run(); });
  }

  ~GrpcX509Stream() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      if (active_ != nullptr) active_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
    poll_queue_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (poll_queue_.Next(&tag, &ok)) {
    }
  }

  GrpcX509Stream(const GrpcX509Stream&) = delete;
  GrpcX509Stream& operator=(const GrpcX509Stream&) = delete;

 private:
  bool isStopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }
  void run();
  bool sleepFor(std::chrono::milliseconds delay);
  std::chrono::milliseconds jittered(std::chrono::milliseconds base, std::mt19937_64& rng) const;
  std::chrono::milliseconds retryDelay(int failures, std::mt19937_64& rng) const;

  wire::X509MessageFn on_message_;
  wire::WatchErrorFn on_error_;
  BackoffPolicy backoff_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<SpiffeWorkloadAPI::Stub> stub_;
  grpc::CompletionQueue poll_queue_;  // the stream thread's only; see sleepFor

  std::mutex mu_;
  bool stopping_ = false;                  // guarded by mu_
  grpc::ClientContext* active_ = nullptr;  // guarded by mu_; the open call, if any
  std::thread thread_;                     // last: started once everything above exists
};

std::chrono::milliseconds GrpcX509Stream::jittered(std::chrono::milliseconds base,
                                                   std::mt19937_64& rng) const {
  // "Equal jitter": between half and all of the delay, so many workloads restarted by the
  // same agent outage do not reconnect in lockstep, yet each still waits at least half.
  if (base.count() <= 1) return base;
  std::uniform_int_distribution<long long> dist(base.count() / 2, base.count());
  return std::chrono::milliseconds(dist(rng));
}

std::chrono::milliseconds GrpcX509Stream::retryDelay(int failures, std::mt19937_64& rng) const {
  auto delay = backoff_.initial;
  for (int i = 0; i < failures && delay < backoff_.max; ++i) delay *= 2;
  return jittered(std::min(delay, backoff_.max), rng);
}

bool GrpcX509Stream::sleepFor(std::chrono::milliseconds delay) {
  // A fail-fast call fails at once while the channel is not connected, so no call of ours
  // polls the socket gRPC is connecting on. Left alone, gRPC's backup poller reads the
  // server's SETTINGS only every 5 s, and the agent would look absent that long after it
  // came back. Watching the channel's state polls it, so the backoff wait is spent
  // connecting. The wait is cut into short slices so the destructor is obeyed promptly.
  constexpr auto kSlice = std::chrono::milliseconds(50);
  const auto deadline = std::chrono::steady_clock::now() + delay;
  for (;;) {
    if (isStopping()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    const auto slice = std::min<std::chrono::steady_clock::duration>(deadline - now, kSlice);
    const grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
    channel_->NotifyOnStateChange(state, std::chrono::system_clock::now() + slice, &poll_queue_,
                                  nullptr);
    void* tag = nullptr;
    bool ok = false;
    if (!poll_queue_.Next(&tag, &ok)) return false;  // only after Shutdown
  }
}

void GrpcX509Stream::run() {
  std::mt19937_64 rng(std::random_device{}());
  int failures = 0;  // consecutive attempts that ended without a usable message
  for (;;) {
    grpc::ClientContext context;
    context.AddMetadata(kSecurityHeader, kSecurityHeaderValue);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      active_ = &context;
    }
    auto reader = stub_->FetchX509SVID(&context, ::X509SVIDRequest());
    ::X509SVIDResponse response;
    bool delivered = false;
    while (reader->Read(&response)) {
      const std::string unusable = on_message_(fromProto(response));
      if (unusable.empty()) {
        delivered = true;
        failures = 0;
      } else {
        // §4.3: discard and report; the caller keeps its last good context.
        spdlog::error("workload api: FetchX509SVID message discarded, keeping the previous "
                      "identity: {}", unusable);
        on_error_(WatchError{0, "invalid X509SVIDResponse: " + unusable, true});
      }
    }
    const grpc::Status status = reader->Finish();
    {
      std::lock_guard lock(mu_);
      active_ = nullptr;
      if (stopping_) return;
    }
    std::chrono::milliseconds delay{0};
    if (status.ok()) {
      // A clean end is no error (§4.3: reconnect at once); a short jittered pause still
      // keeps a server that closes every stream at once from spinning us.
      delay = delivered ? jittered(backoff_.initial, rng) : retryDelay(failures++, rng);
    } else if (isConfigurationError(status.error_code())) {
      // §4.4 says "don't retry" for these. We report will_retry=false (the caller should
      // treat it as a configuration problem) but still try again at the longest backoff,
      // so a sidecar started against a misconfigured or older agent recovers by itself
      // once the agent is fixed, without a restart.
      spdlog::error("workload api: {} (configuration error; next attempt in {} ms)",
                    describe("FetchX509SVID", status), backoff_.max.count());
      on_error_(WatchError{static_cast<int>(status.error_code()),
                           describe("FetchX509SVID", status), false});
      delay = jittered(backoff_.max, rng);
      ++failures;
    } else {
      delay = retryDelay(failures++, rng);
      spdlog::warn("workload api: {} (retrying in {} ms)", describe("FetchX509SVID", status),
                   delay.count());
      on_error_(WatchError{static_cast<int>(status.error_code()),
                           describe("FetchX509SVID", status), true});
    }
    if (!sleepFor(delay)) return;
  }
}

// ---------------------------------------------------------------------------------------
// Snapshots and unary calls

class GrpcTransport final : public wire::Transport {
 public:
  GrpcTransport(const std::string& target, std::chrono::milliseconds deadline)
      : channel_(makeChannel(target, BackoffPolicy{})),
        stub_(SpiffeWorkloadAPI::NewStub(channel_)),
        deadline_(deadline) {}

  Result<wire::X509SvidResponse> fetchX509Svid() override {
    grpc::ClientContext context;
    prepare(context);
    auto first = firstMessage(context, stub_->FetchX509SVID(&context, ::X509SVIDRequest()),
                              "FetchX509SVID");
    if (!first.ok()) return first.error();
    return fromProto(*first);
  }

  Result<wire::Bundles> fetchX509Bundles() override {
    grpc::ClientContext context;
    prepare(context);
    auto first = firstMessage(
        context, stub_->FetchX509Bundles(&context, ::X509BundlesRequest()), "FetchX509Bundles");
    if (!first.ok()) return first.error();
    return bundlesOf(first->bundles());
  }

  Result<std::vector<wire::JwtSvid>> fetchJwtSvid(const std::vector<std::string>& audiences,
                                                  const std::string& spiffe_id) override {
    ::JWTSVIDRequest request;
    for (const auto& aud : audiences) request.add_audience(aud);
    request.set_spiffe_id(spiffe_id);
    ::JWTSVIDResponse response;
    grpc::ClientContext context;
    prepare(context);
    const grpc::Status status = stub_->FetchJWTSVID(&context, request, &response);
    if (!status.ok()) return fail(describe("FetchJWTSVID", status));
    std::vector<wire::JwtSvid> out;
    out.reserve(static_cast<std::size_t>(response.svids_size()));
    for (const ::JWTSVID& in : response.svids()) {
      out.push_back(wire::JwtSvid{in.spiffe_id(), in.svid(), in.hint()});
    }
    return out;
  }

  Result<wire::Bundles> fetchJwtBundles() override {
    grpc::ClientContext context;
    prepare(context);
    auto first = firstMessage(context, stub_->FetchJWTBundles(&context, ::JWTBundlesRequest()),
                              "FetchJWTBundles");
    if (!first.ok()) return first.error();
    return bundlesOf(first->bundles());
  }

  Result<wire::JwtValidation> validateJwtSvid(const std::string& audience,
                                              const std::string& token) override {
    ::ValidateJWTSVIDRequest request;
    request.set_audience(audience);
    request.set_svid(token);
    ::ValidateJWTSVIDResponse response;
    grpc::ClientContext context;
    prepare(context);
    const grpc::Status status = stub_->ValidateJWTSVID(&context, request, &response);
    if (!status.ok()) return fail(describe("ValidateJWTSVID", status));
    wire::JwtValidation out;
    out.spiffe_id = response.spiffe_id();
    const auto json =
        google::protobuf::util::MessageToJsonString(response.claims(), &out.claims_json);
    if (!json.ok()) {
      return fail("ValidateJWTSVID: claims are not representable as JSON: " +
                  std::string(json.message()));
    }
    return out;
  }

 private:
  void prepare(grpc::ClientContext& context) const {
    const auto until = std::chrono::system_clock::now() + deadline_;
    context.AddMetadata(kSecurityHeader, kSecurityHeaderValue);
    context.set_deadline(until);
    // Give a channel that is not connected (agent restarting, or never called before)
    // half the deadline, at most a second, to connect: a fail-fast call alone would fail
    // at once with the last connection error, and nothing would poll the connection in
    // between (see GrpcX509Stream::sleepFor). The call itself stays fail-fast, so an
    // agent that is still down is reported with its real cause (UNAVAILABLE: ...) rather
    // than a bare DEADLINE_EXCEEDED.
    if (channel_->GetState(/*try_to_connect=*/true) != GRPC_CHANNEL_READY) {
      const auto grace =
          std::min<std::chrono::milliseconds>(deadline_ / 2, std::chrono::seconds(1));
      (void)channel_->WaitForConnected(std::chrono::system_clock::now() + grace);
    }
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<SpiffeWorkloadAPI::Stub> stub_;
  std::chrono::milliseconds deadline_;
};

class GrpcFactory final : public wire::Factory {
 public:
  int abiVersion() const override { return kTransportAbiVersion; }
  std::unique_ptr<wire::Transport> connect(const std::string& target,
                                           std::chrono::milliseconds deadline) const override {
    return std::make_unique<GrpcTransport>(target, deadline);
  }
  std::unique_ptr<wire::X509Stream> watchX509(const std::string& target, BackoffPolicy backoff,
                                              wire::X509MessageFn on_message,
                                              wire::WatchErrorFn on_error) const override {
    return std::make_unique<GrpcX509Stream>(target, backoff, std::move(on_message),
                                            std::move(on_error));
  }
};

}  // namespace

const wire::Factory& grpcTransportFactory() {
  static const GrpcFactory factory;
  return factory;
}

}  // namespace warden::workload
