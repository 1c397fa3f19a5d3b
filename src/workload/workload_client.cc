#include "workload/workload_client.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <random>
#include <thread>

#include "identity/spiffe_id.h"
#include "identity/svid_verifier.h"
#include "workload.grpc.pb.h"

namespace warden::workload {
namespace {

// identity-standards §4.2: every request carries it; SPIRE rejects the call otherwise.
constexpr const char* kSecurityHeader = "workload.spiffe.io";
constexpr const char* kSecurityHeaderValue = "true";

using CertList = std::vector<std::shared_ptr<X509>>;

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

const unsigned char* bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Concatenated DER certificates: the Workload API's chain and bundle encoding. The field
// name goes into the error, since a message has several such fields.
Result<CertList> parseDerCertificateList(const std::string& der, const std::string& what) {
  if (der.empty()) return makeError(what + " is empty");
  auto certs = identity::parseDerCertificates(der);
  if (!certs.ok()) return makeError(what + ": " + certs.error().message);
  return certs;
}

// Unencrypted PKCS#8 DER only (the spec's encoding), so a traditional SEC1/PKCS#1 key
// is refused rather than silently accepted.
Result<std::shared_ptr<EVP_PKEY>> parsePkcs8Key(const std::string& der) {
  if (der.empty()) return makeError("x509_svid_key is empty");
  const unsigned char* p = bytes(der);
  PKCS8_PRIV_KEY_INFO* info = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size()));
  if (info == nullptr) return makeError("x509_svid_key is not PKCS#8 DER");
  const bool trailing = p != bytes(der) + der.size();
  EVP_PKEY* key = trailing ? nullptr : EVP_PKCS82PKEY(info);
  PKCS8_PRIV_KEY_INFO_free(info);
  if (trailing) return makeError("x509_svid_key has bytes after the PKCS#8 structure");
  if (key == nullptr) return makeError("x509_svid_key holds an unsupported private key");
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

std::time_t notAfter(X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return timegm(&tm);
}

// Bundle map keys: SPIRE sends "spiffe://td"; go-spiffe also accepts a bare "td", and so
// do we (identity-standards §4.1, §11).
Result<std::string> trustDomainFromKey(const std::string& key) {
  if (key.rfind("spiffe://", 0) == 0) {
    auto id = identity::SpiffeId::parse(key);
    if (!id.ok()) return makeError("bundle key \"" + key + "\": " + id.error().message);
    if (id->hasPath()) {
      return makeError("bundle key \"" + key + "\" is not a trust domain ID (it has a path)");
    }
    return std::string(id->trustDomain());
  }
  if (Status st = identity::validateTrustDomain(key); !st.ok()) {
    return makeError("bundle key \"" + key + "\": " + st.message());
  }
  return key;
}

Result<X509Svid> parseSvid(const ::X509SVID& in, std::size_t index) {
  const std::string where = "svids[" + std::to_string(index) + "]";
  auto fail = [&](const std::string& why) { return makeError(where + ": " + why); };
  auto id = identity::SpiffeId::parse(in.spiffe_id());
  if (!id.ok()) return fail("spiffe_id: " + id.error().message);
  auto chain = parseDerCertificateList(in.x509_svid(), "x509_svid");
  if (!chain.ok()) return fail(chain.error().message);
  X509* leaf = chain->front().get();
  auto leaf_id = identity::spiffeIdFromCertificate(leaf);
  if (!leaf_id.ok()) {
    return fail("the first certificate of x509_svid must be the leaf: " +
                leaf_id.error().message);
  }
  if (!(*leaf_id == *id)) {
    return fail("the leaf certificate names " + leaf_id->str() + ", not " + id->str());
  }
  auto key = parsePkcs8Key(in.x509_svid_key());
  if (!key.ok()) return fail(key.error().message);
  if (X509_check_private_key(leaf, key->get()) != 1) {
    return fail("x509_svid_key does not match the leaf certificate's public key");
  }
  X509Svid svid;
  svid.spiffe_id = id->str();
  svid.chain = std::move(*chain);
  svid.private_key = std::move(*key);
  svid.hint = in.hint();
  svid.not_after = notAfter(leaf);
  return svid;
}

// Validates one FetchX509SVID message as a whole (identity-standards §4.3: every message
// is the complete state, so one bad part makes the whole message unusable). CRLs are not
// applied: the data plane has no CRL checking, and an unused field is no reason to refuse
// an otherwise good identity.
Result<X509Context> parseX509Response(const ::X509SVIDResponse& response) {
  if (response.svids_size() == 0) return makeError("the response has no SVIDs");
  X509Context context;
  for (int i = 0; i < response.svids_size(); ++i) {
    const ::X509SVID& in = response.svids(i);
    auto svid = parseSvid(in, static_cast<std::size_t>(i));
    if (!svid.ok()) return svid.error();
    const std::string where = "svids[" + std::to_string(i) + "]";
    auto bundle = parseDerCertificateList(in.bundle(), where + ".bundle");
    if (!bundle.ok()) return bundle.error();
    auto td = identity::SpiffeId::parse(svid->spiffe_id);
    // The first SVID of a trust domain supplies its bundle: SVIDs of one trust domain
    // carry the same bundle, and svids[0] is the default identity.
    context.bundles.emplace(std::string(td->trustDomain()), std::move(*bundle));
    context.svids.push_back(std::move(*svid));
  }
  for (const auto& [key, der] : response.federated_bundles()) {
    auto td = trustDomainFromKey(key);
    if (!td.ok()) return makeError("federated_bundles: " + td.error().message);
    auto certs = parseDerCertificateList(der, "federated_bundles[\"" + key + "\"]");
    if (!certs.ok()) return certs.error();
    // The SVID's own bundle is authoritative for its trust domain; a federated copy of it
    // must not replace the roots that issued our own identity.
    if (!context.bundles.emplace(*td, std::move(*certs)).second) {
      spdlog::warn("workload api: federated bundle for {} ignored: it is an SVID's own trust "
                   "domain", *td);
    }
  }
  return context;
}

std::shared_ptr<grpc::Channel> makeChannel(const EndpointAddress& endpoint,
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
  return grpc::CreateCustomChannel(endpoint.grpcTarget(), grpc::InsecureChannelCredentials(),
                                   args);
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
  if (status.ok()) return makeError(std::string(rpc) + ": the server ended the stream empty");
  return makeError(describe(rpc, status));
}

std::string bioText(BIO* bio) {
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  return mem == nullptr ? std::string() : std::string(mem->data, mem->length);
}

}  // namespace

std::string X509Svid::chainPem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio) return {};
  for (const auto& cert : chain) {
    if (PEM_write_bio_X509(bio.get(), cert.get()) != 1) return {};
  }
  return bioText(bio.get());
}

std::string X509Svid::keyPem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || !private_key) return {};
  // PKCS#8 PEM ("BEGIN PRIVATE KEY"), the same structure the Workload API sent.
  if (PEM_write_bio_PrivateKey(bio.get(), private_key.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return {};
  }
  return bioText(bio.get());
}

// ---------------------------------------------------------------------------------------
// X509Watcher
//
// The watcher thread's states:
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

struct X509Watcher::Impl {
  EndpointAddress endpoint;
  UpdateFn on_update;
  ErrorFn on_error;
  BackoffPolicy backoff;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<SpiffeWorkloadAPI::Stub> stub;
  grpc::CompletionQueue poll_queue;  // the watcher thread's only; see sleepFor

  std::mutex mu;
  bool stopping = false;                    // guarded by mu
  grpc::ClientContext* active = nullptr;    // guarded by mu; the open call, if any
  std::thread thread;

  ~Impl() {
    poll_queue.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (poll_queue.Next(&tag, &ok)) {
    }
  }
  bool isStopping() {
    std::lock_guard lock(mu);
    return stopping;
  }
  void run();
  // Waits `delay` unless stopped first (false then) while driving the channel's connection.
  bool sleepFor(std::chrono::milliseconds delay);
  std::chrono::milliseconds jittered(std::chrono::milliseconds base, std::mt19937_64& rng) const;
  std::chrono::milliseconds retryDelay(int failures, std::mt19937_64& rng) const;
};

std::chrono::milliseconds X509Watcher::Impl::jittered(std::chrono::milliseconds base,
                                                      std::mt19937_64& rng) const {
  // "Equal jitter": between half and all of the delay, so many workloads restarted by the
  // same agent outage do not reconnect in lockstep, yet each still waits at least half.
  if (base.count() <= 1) return base;
  std::uniform_int_distribution<long long> dist(base.count() / 2, base.count());
  return std::chrono::milliseconds(dist(rng));
}

std::chrono::milliseconds X509Watcher::Impl::retryDelay(int failures,
                                                        std::mt19937_64& rng) const {
  auto delay = backoff.initial;
  for (int i = 0; i < failures && delay < backoff.max; ++i) delay *= 2;
  return jittered(std::min(delay, backoff.max), rng);
}

bool X509Watcher::Impl::sleepFor(std::chrono::milliseconds delay) {
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
    const grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
    channel->NotifyOnStateChange(state, std::chrono::system_clock::now() + slice, &poll_queue,
                                 nullptr);
    void* tag = nullptr;
    bool ok = false;
    if (!poll_queue.Next(&tag, &ok)) return false;  // only after Shutdown, in ~Impl
  }
}

void X509Watcher::Impl::run() {
  std::mt19937_64 rng(std::random_device{}());
  int failures = 0;  // consecutive attempts that ended without a usable message
  for (;;) {
    grpc::ClientContext context;
    context.AddMetadata(kSecurityHeader, kSecurityHeaderValue);
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      active = &context;
    }
    auto reader = stub->FetchX509SVID(&context, ::X509SVIDRequest());
    ::X509SVIDResponse response;
    bool delivered = false;
    while (reader->Read(&response)) {
      auto parsed = parseX509Response(response);
      if (parsed.ok()) {
        delivered = true;
        failures = 0;
        on_update(*parsed);
      } else {
        // §4.3: discard and report; the caller keeps its last good context.
        spdlog::error("workload api: FetchX509SVID message discarded, keeping the previous "
                      "identity: {}", parsed.error().message);
        on_error(WatchError{0, "invalid X509SVIDResponse: " + parsed.error().message, true});
      }
    }
    const grpc::Status status = reader->Finish();
    {
      std::lock_guard lock(mu);
      active = nullptr;
      if (stopping) return;
    }
    std::chrono::milliseconds delay{0};
    if (status.ok()) {
      // A clean end is no error (§4.3: reconnect at once); a short jittered pause still
      // keeps a server that closes every stream at once from spinning us.
      delay = delivered ? jittered(backoff.initial, rng) : retryDelay(failures++, rng);
    } else if (isConfigurationError(status.error_code())) {
      // §4.4 says "don't retry" for these. We report will_retry=false (the caller should
      // treat it as a configuration problem) but still try again at the longest backoff,
      // so a sidecar started against a misconfigured or older agent recovers by itself
      // once the agent is fixed, without a restart.
      spdlog::error("workload api: {} (configuration error; next attempt in {} ms)",
                    describe("FetchX509SVID", status), backoff.max.count());
      on_error(WatchError{static_cast<int>(status.error_code()),
                          describe("FetchX509SVID", status), false});
      delay = jittered(backoff.max, rng);
      ++failures;
    } else {
      delay = retryDelay(failures++, rng);
      spdlog::warn("workload api: {} (retrying in {} ms)", describe("FetchX509SVID", status),
                   delay.count());
      on_error(WatchError{static_cast<int>(status.error_code()),
                          describe("FetchX509SVID", status), true});
    }
    if (!sleepFor(delay)) return;
  }
}

X509Watcher::X509Watcher(EndpointAddress endpoint, UpdateFn on_update, ErrorFn on_error,
                         BackoffPolicy backoff)
    : impl_(std::make_unique<Impl>()) {
  if (backoff.initial.count() < 1) backoff.initial = std::chrono::milliseconds(1);
  if (backoff.max < backoff.initial) backoff.max = backoff.initial;
  impl_->endpoint = std::move(endpoint);
  impl_->on_update = std::move(on_update);
  impl_->on_error = std::move(on_error);
  impl_->backoff = backoff;
  impl_->channel = makeChannel(impl_->endpoint, backoff);
  impl_->stub = SpiffeWorkloadAPI::NewStub(impl_->channel);
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

X509Watcher::~X509Watcher() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    if (impl_->active != nullptr) impl_->active->TryCancel();
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

// ---------------------------------------------------------------------------------------
// WorkloadClient

struct WorkloadClient::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<SpiffeWorkloadAPI::Stub> stub;
  std::chrono::milliseconds deadline;

  void prepare(grpc::ClientContext& context) const {
    const auto until = std::chrono::system_clock::now() + deadline;
    context.AddMetadata(kSecurityHeader, kSecurityHeaderValue);
    context.set_deadline(until);
    // Give a channel that is not connected (agent restarting, or never called before)
    // half the deadline, at most a second, to connect: a fail-fast call alone would fail
    // at once with the last connection error, and nothing would poll the connection in
    // between (see X509Watcher::Impl::sleepFor). The call itself stays fail-fast, so an
    // agent that is still down is reported with its real cause (UNAVAILABLE: ...) rather
    // than a bare DEADLINE_EXCEEDED.
    if (channel->GetState(/*try_to_connect=*/true) != GRPC_CHANNEL_READY) {
      const auto grace = std::min<std::chrono::milliseconds>(deadline / 2, std::chrono::seconds(1));
      (void)channel->WaitForConnected(std::chrono::system_clock::now() + grace);
    }
  }
};

WorkloadClient::WorkloadClient(EndpointAddress endpoint, std::chrono::milliseconds deadline)
    : impl_(std::make_unique<Impl>()) {
  impl_->channel = makeChannel(endpoint, BackoffPolicy{});
  impl_->stub = SpiffeWorkloadAPI::NewStub(impl_->channel);
  impl_->deadline = deadline;
}

WorkloadClient::~WorkloadClient() = default;

Result<std::vector<JwtSvid>> WorkloadClient::fetchJwtSvids(
    const std::vector<std::string>& audiences, const std::string& spiffe_id) {
  if (audiences.empty()) return makeError("FetchJWTSVID: at least one audience is required");
  ::JWTSVIDRequest request;
  for (const auto& aud : audiences) request.add_audience(aud);
  request.set_spiffe_id(spiffe_id);
  ::JWTSVIDResponse response;
  grpc::ClientContext context;
  impl_->prepare(context);
  const grpc::Status status = impl_->stub->FetchJWTSVID(&context, request, &response);
  if (!status.ok()) return makeError(describe("FetchJWTSVID", status));
  if (response.svids_size() == 0) return makeError("FetchJWTSVID: the response has no SVIDs");
  std::vector<JwtSvid> out;
  for (int i = 0; i < response.svids_size(); ++i) {
    const ::JWTSVID& in = response.svids(i);
    const std::string where = "FetchJWTSVID: svids[" + std::to_string(i) + "]";
    if (auto id = identity::SpiffeId::parse(in.spiffe_id()); !id.ok()) {
      return makeError(where + ".spiffe_id: " + id.error().message);
    }
    if (in.svid().empty()) return makeError(where + ".svid is empty");
    out.push_back(JwtSvid{in.spiffe_id(), in.svid(), in.hint()});
  }
  return out;
}

Result<std::map<std::string, identity::SpiffeBundle>> WorkloadClient::fetchJwtBundles() {
  grpc::ClientContext context;
  impl_->prepare(context);
  auto first = firstMessage(context, impl_->stub->FetchJWTBundles(&context, ::JWTBundlesRequest()),
                            "FetchJWTBundles");
  if (!first.ok()) return first.error();
  std::map<std::string, identity::SpiffeBundle> out;
  for (const auto& [key, jwks] : first->bundles()) {
    auto td = trustDomainFromKey(key);
    if (!td.ok()) return makeError("FetchJWTBundles: " + td.error().message);
    // Plain JWKS here, `use` not required (identity-standards §4.1).
    auto bundle = identity::parseJwtJwks(jwks, *td);
    if (!bundle.ok()) {
      return makeError("FetchJWTBundles: bundle \"" + key + "\": " + bundle.error().message);
    }
    out.emplace(*td, std::move(*bundle));
  }
  return out;
}

Result<std::map<std::string, std::vector<std::shared_ptr<X509>>>>
WorkloadClient::fetchX509Bundles() {
  grpc::ClientContext context;
  impl_->prepare(context);
  auto first = firstMessage(
      context, impl_->stub->FetchX509Bundles(&context, ::X509BundlesRequest()),
      "FetchX509Bundles");
  if (!first.ok()) return first.error();
  std::map<std::string, CertList> out;
  for (const auto& [key, der] : first->bundles()) {
    auto td = trustDomainFromKey(key);
    if (!td.ok()) return makeError("FetchX509Bundles: " + td.error().message);
    auto certs = parseDerCertificateList(der, "FetchX509Bundles: bundle \"" + key + "\"");
    if (!certs.ok()) return certs.error();
    out.emplace(*td, std::move(*certs));
  }
  if (out.empty()) return makeError("FetchX509Bundles: the response has no bundles");
  return out;
}

Result<ValidatedJwtSvid> WorkloadClient::validateJwtSvid(const std::string& audience,
                                                         const std::string& token) {
  if (audience.empty()) return makeError("ValidateJWTSVID: the audience is required");
  if (token.empty()) return makeError("ValidateJWTSVID: the token is required");
  ::ValidateJWTSVIDRequest request;
  request.set_audience(audience);
  request.set_svid(token);
  ::ValidateJWTSVIDResponse response;
  grpc::ClientContext context;
  impl_->prepare(context);
  const grpc::Status status = impl_->stub->ValidateJWTSVID(&context, request, &response);
  if (!status.ok()) return makeError(describe("ValidateJWTSVID", status));
  if (auto id = identity::SpiffeId::parse(response.spiffe_id()); !id.ok()) {
    return makeError("ValidateJWTSVID: spiffe_id: " + id.error().message);
  }
  ValidatedJwtSvid out;
  out.spiffe_id = response.spiffe_id();
  const auto json = google::protobuf::util::MessageToJsonString(response.claims(), &out.claims_json);
  if (!json.ok()) {
    return makeError("ValidateJWTSVID: claims are not representable as JSON: " +
                     std::string(json.message()));
  }
  return out;
}

Result<X509Context> WorkloadClient::fetchX509Context() {
  grpc::ClientContext context;
  impl_->prepare(context);
  auto first = firstMessage(context, impl_->stub->FetchX509SVID(&context, ::X509SVIDRequest()),
                            "FetchX509SVID");
  if (!first.ok()) return first.error();
  auto parsed = parseX509Response(*first);
  if (!parsed.ok()) return makeError("FetchX509SVID: " + parsed.error().message);
  return parsed;
}

}  // namespace warden::workload
