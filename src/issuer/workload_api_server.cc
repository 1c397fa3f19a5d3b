#include "issuer/workload_api_server.h"

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "issuer/attestation.h"
#include "issuer/issuer.h"
#include "issuer/key_store.h"
#include "workload.grpc.pb.h"

namespace warden::issuer {
namespace {

constexpr const char* kSecurityHeader = "workload.spiffe.io";

struct Caller {
  PeerCredentials creds;
  std::vector<std::string> selectors;
  std::string socket_path;  // "" for the shared socket
};

std::string concatDer(const std::vector<X509Ref>& certs) {
  std::string out;
  for (const auto& c : certs) out += certificateDer(c.get());
  return out;
}

std::string tdId(const std::string& td) { return "spiffe://" + td; }

grpc::Status checkSecurityHeader(const grpc::ServerContext& ctx) {
  const auto& md = ctx.client_metadata();
  const auto range = md.equal_range(kSecurityHeader);
  int count = 0;
  bool ok = false;
  for (auto it = range.first; it != range.second; ++it) {
    ++count;
    ok = std::string_view(it->second.data(), it->second.size()) == "true";
  }
  if (count != 1 || !ok) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "security header missing from request"};
  }
  return grpc::Status::OK;
}

class Service final : public SpiffeWorkloadAPI::Service {
 public:
  Service(Issuer& issuer, std::function<std::optional<Caller>(const std::string&)> lookup,
          std::atomic<bool>& stopping)
      : issuer_(issuer), lookup_(std::move(lookup)), stopping_(stopping) {}

  grpc::Status FetchX509SVID(grpc::ServerContext* ctx, const X509SVIDRequest*,
                             grpc::ServerWriter<X509SVIDResponse>* writer) override {
    return stream<X509SVIDResponse>(ctx, writer, [&](const Caller&, const auto& entries,
                                                     X509SVIDResponse& out) -> grpc::Status {
      auto state = issuer_.x509State(entries);
      if (!state) return {grpc::StatusCode::UNAVAILABLE, state.error().message};
      const std::string own_bundle = concatDer(state->own_bundle);
      std::set<std::string> hints;
      for (const auto& s : state->svids) {
        // Hints must be unique within a response (spec §5.2.1); the first one wins.
        if (!s.entry->hint.empty() && !hints.insert(s.entry->hint).second) continue;
        auto* svid = out.add_svids();
        svid->set_spiffe_id(s.entry->spiffe_id.str());
        svid->set_x509_svid(concatDer(s.svid->chain));
        svid->set_x509_svid_key(privateKeyDer(s.svid->key.get()));
        svid->set_bundle(own_bundle);
        svid->set_hint(s.entry->hint);
      }
      for (const auto& [td, certs] : state->federated) {
        (*out.mutable_federated_bundles())[tdId(td)] = concatDer(certs);
      }
      return grpc::Status::OK;
    });
  }

  grpc::Status FetchX509Bundles(grpc::ServerContext* ctx, const X509BundlesRequest*,
                                grpc::ServerWriter<X509BundlesResponse>* writer) override {
    return stream<X509BundlesResponse>(
        ctx, writer, [&](const Caller&, const auto& entries, X509BundlesResponse& out) {
          const auto all = issuer_.x509Bundles();
          for (const auto& td : visibleTrustDomains(entries)) {
            if (auto it = all.find(td); it != all.end()) {
              (*out.mutable_bundles())[tdId(td)] = concatDer(it->second);
            }
          }
          return grpc::Status::OK;
        });
  }

  grpc::Status FetchJWTBundles(grpc::ServerContext* ctx, const JWTBundlesRequest*,
                               grpc::ServerWriter<JWTBundlesResponse>* writer) override {
    return stream<JWTBundlesResponse>(
        ctx, writer, [&](const Caller&, const auto& entries, JWTBundlesResponse& out) {
          const auto all = issuer_.jwtBundles();
          for (const auto& td : visibleTrustDomains(entries)) {
            if (auto it = all.find(td); it != all.end()) {
              (*out.mutable_bundles())[tdId(td)] = it->second.jwtJwks();
            }
          }
          return grpc::Status::OK;
        });
  }

  grpc::Status FetchJWTSVID(grpc::ServerContext* ctx, const JWTSVIDRequest* request,
                            JWTSVIDResponse* response) override {
    auto caller = authorize(*ctx);
    if (!caller.ok()) return caller.status;
    std::vector<std::string> audiences(request->audience().begin(), request->audience().end());
    auto minted = issuer_.mintJwtSvids(caller.entries, audiences, request->spiffe_id());
    if (const auto* err = std::get_if<IssuerError>(&minted)) {
      return {toGrpc(err->kind), err->message};
    }
    for (const auto& s : std::get<0>(minted)) {
      auto* out = response->add_svids();
      out->set_spiffe_id(s.spiffe_id);
      out->set_svid(s.token);
      out->set_hint(s.hint);
    }
    return grpc::Status::OK;
  }

  grpc::Status ValidateJWTSVID(grpc::ServerContext* ctx, const ValidateJWTSVIDRequest* request,
                               ValidateJWTSVIDResponse* response) override {
    if (auto st = checkSecurityHeader(*ctx); !st.ok()) return st;
    if (request->audience().empty()) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "audience must be specified"};
    }
    if (request->svid().empty()) return {grpc::StatusCode::INVALID_ARGUMENT, "svid must be specified"};
    if (!lookup_(ctx->peer())) return {grpc::StatusCode::UNAVAILABLE, "workload attestation failed"};
    auto validated = issuer_.validateJwtSvid(request->audience(), request->svid());
    if (!validated) return {grpc::StatusCode::INVALID_ARGUMENT, validated.error().message};
    response->set_spiffe_id(validated->spiffe_id.str());
    auto claims = validated->claims;
    // SPIRE always returns aud as a list; clients rely on that shape.
    if (claims.contains("aud") && claims["aud"].is_string()) {
      claims["aud"] = nlohmann::json::array({claims["aud"]});
    }
    const auto st = google::protobuf::util::JsonStringToMessage(claims.dump(),
                                                                response->mutable_claims());
    if (!st.ok()) return {grpc::StatusCode::INTERNAL, "cannot encode claims"};
    return grpc::Status::OK;
  }

 private:
  struct Authorized {
    grpc::Status status;
    Caller caller;
    std::vector<std::shared_ptr<const RegistrationEntry>> entries;
    bool ok() const { return status.ok(); }
  };

  static grpc::StatusCode toGrpc(IssuerErrorKind kind) {
    switch (kind) {
      case IssuerErrorKind::kPermissionDenied: return grpc::StatusCode::PERMISSION_DENIED;
      case IssuerErrorKind::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
      case IssuerErrorKind::kInternal: break;
    }
    return grpc::StatusCode::INTERNAL;
  }

  Authorized authorize(const grpc::ServerContext& ctx) {
    Authorized out;
    out.status = checkSecurityHeader(ctx);
    if (!out.ok()) return out;
    auto caller = lookup_(ctx.peer());
    if (!caller) {
      out.status = {grpc::StatusCode::UNAVAILABLE, "workload attestation failed"};
      return out;
    }
    out.caller = *caller;
    out.entries = issuer_.entriesFor(caller->selectors, caller->socket_path);
    if (out.entries.empty()) {
      spdlog::warn("workload api: no identity for pid {} uid {} gid {}{}", caller->creds.pid,
                   caller->creds.uid, caller->creds.gid,
                   caller->socket_path.empty() ? "" : " on " + caller->socket_path);
      out.status = {grpc::StatusCode::PERMISSION_DENIED, "no identity issued"};
    }
    return out;
  }

  std::set<std::string> visibleTrustDomains(
      const std::vector<std::shared_ptr<const RegistrationEntry>>& entries) const {
    std::set<std::string> tds{issuer_.trustDomain()};
    for (const auto& e : entries) tds.insert(e->federates_with.begin(), e->federates_with.end());
    return tds;
  }

  // Streams the caller's full state: the first message at once, then a new one whenever
  // the state changes (spec §4.3). Ends with PERMISSION_DENIED once nothing is granted.
  template <class Response, class Build>
  grpc::Status stream(grpc::ServerContext* ctx, grpc::ServerWriter<Response>* writer,
                      Build&& build) {
    std::uint64_t seen = 0;
    std::string last_sent;
    bool first = true;
    while (!stopping_.load() && !ctx->IsCancelled()) {
      const std::uint64_t generation = issuer_.generation();
      if (generation != seen || first) {
        seen = generation;
        auto auth = authorize(*ctx);
        if (!auth.ok()) return auth.status;
        Response response;
        if (auto st = build(auth.caller, auth.entries, response); !st.ok()) return st;
        std::string wire;
        response.SerializeToString(&wire);
        if (first || wire != last_sent) {
          if (!writer->Write(response)) return grpc::Status::OK;  // client went away
          last_sent = std::move(wire);
        }
        first = false;
      }
      issuer_.waitForChange(seen, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
    }
    return {grpc::StatusCode::UNAVAILABLE, "server shutting down"};
  }

  Issuer& issuer_;
  std::function<std::optional<Caller>(const std::string&)> lookup_;
  std::atomic<bool>& stopping_;
};

Result<int> listenUnix(const std::string& path, mode_t mode) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return Error{"socket path too long: " + path};
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::exists(parent, ec)) {
    if (auto st = ensurePrivateDirectory(parent.string()); !st) return st.error();
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    // Only a stale socket is replaced: never unlink a regular file someone pointed us at.
    if (!S_ISSOCK(st.st_mode)) return Error{path + " exists and is not a socket"};
    ::unlink(path.c_str());
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Error{std::string("socket: ") + std::strerror(errno)};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // Bind with a restrictive umask, then widen if asked: never a window where the socket
  // is more open than intended.
  const mode_t old_umask = ::umask(0177);
  const int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old_umask);
  if (rc != 0 || ::chmod(path.c_str(), mode) != 0 || ::listen(fd, 128) != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd);
    return Error{"cannot listen on " + path + ": " + err};
  }
  return fd;
}

}  // namespace

struct WorkloadApiServer::Impl {
  Issuer* issuer = nullptr;
  std::atomic<bool> stopping{false};
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
  std::vector<std::pair<int, std::string>> listeners;  // fd, socket path ("" = shared)
  std::vector<std::string> paths_to_remove;
  int wake_fd = -1;
  std::thread accept_thread;
  std::mutex mutex;
  std::map<std::string, Caller> callers;  // "fd:<n>" -> caller

  std::optional<Caller> lookup(const std::string& peer) {
    std::lock_guard lock(mutex);
    auto it = callers.find(peer);
    if (it == callers.end()) return std::nullopt;
    return it->second;
  }

  void acceptLoop() {
    std::vector<pollfd> fds;
    fds.push_back({wake_fd, POLLIN, 0});
    for (const auto& l : listeners) fds.push_back({l.first, POLLIN, 0});
    while (!stopping.load()) {
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        spdlog::error("workload api: poll failed: {}", std::strerror(errno));
        return;
      }
      if (fds[0].revents != 0) return;
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if ((fds[i].revents & POLLIN) == 0) continue;
        // gRPC needs a non-blocking fd, or calls hang (observed, deps-feasibility).
        const int fd = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) continue;
        onAccepted(fd, listeners[i - 1].second);
      }
    }
  }

  void onAccepted(int fd, const std::string& socket_path) {
    auto creds = peerCredentials(fd);
    if (!creds) {
      spdlog::warn("workload api: refusing connection: {}", creds.error().message);
      ::close(fd);
      return;
    }
    Caller caller;
    caller.creds = *creds;
    caller.selectors = attestUnix(*creds, {issuer->needsExecutableHash()});
    caller.socket_path = socket_path;
    {
      std::lock_guard lock(mutex);
      // A reused fd number belongs to a closed connection: overwrite it.
      callers["fd:" + std::to_string(fd)] = std::move(caller);
    }
    grpc::AddInsecureChannelFromFd(server.get(), fd);
  }
};

WorkloadApiServer::WorkloadApiServer() : impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<WorkloadApiServer>> WorkloadApiServer::start(
    Issuer& issuer, WorkloadApiServerOptions options) {
  std::unique_ptr<WorkloadApiServer> self(new WorkloadApiServer());
  Impl& impl = *self->impl_;
  impl.issuer = &issuer;
  if (!options.socket_path.empty()) {
    auto fd = listenUnix(options.socket_path, 0666);
    if (!fd) return fd.error();
    impl.listeners.emplace_back(*fd, "");
    impl.paths_to_remove.push_back(options.socket_path);
  }
  for (const auto& path : options.workload_sockets) {
    auto fd = listenUnix(path, 0600);
    if (!fd) return fd.error();
    impl.listeners.emplace_back(*fd, path);
    impl.paths_to_remove.push_back(path);
  }
  if (impl.listeners.empty()) return Error{"the Workload API has no socket to listen on"};
  impl.service = std::make_unique<Service>(
      issuer, [&impl](const std::string& peer) { return impl.lookup(peer); }, impl.stopping);
  grpc::ServerBuilder builder;
  builder.RegisterService(impl.service.get());
  impl.server = builder.BuildAndStart();
  if (!impl.server) return Error{"cannot start the gRPC server"};
  impl.wake_fd = ::eventfd(0, EFD_CLOEXEC);
  impl.accept_thread = std::thread([&impl] { impl.acceptLoop(); });
  for (const auto& p : impl.paths_to_remove) spdlog::info("workload api: listening on {}", p);
  return self;
}

WorkloadApiServer::~WorkloadApiServer() {
  if (!impl_) return;
  impl_->stopping.store(true);
  if (impl_->wake_fd >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(impl_->wake_fd, &one, sizeof(one));
  }
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  if (impl_->server) {
    impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }
  for (const auto& l : impl_->listeners) ::close(l.first);
  for (const auto& p : impl_->paths_to_remove) ::unlink(p.c_str());
  if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
}

}  // namespace warden::issuer
