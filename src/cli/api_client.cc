#include "cli/api_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity/spiffe_id.h"
#include "identity/svid_verifier.h"
#include "net/tls_client.h"
#include "token/fetch_url.h"
#include "token/http_fetch.h"
#include "token/oauth_client.h"

namespace warden::cli {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using nlohmann::json;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// The flag when given, else the environment variable.
std::string setting(const std::string& flag, const char* variable) {
  return flag.empty() ? env(variable) : flag;
}

[[noreturn]] void usage(const std::string& message) { throw CliFailure(message, kExitUsage); }

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string readTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  std::string token = trim(text.str());
  if (token.empty()) return {};
  if (!token::isB64Token(token)) throw CliFailure(path + ": not a bearer token; run `warden login` again");
  return token;
}

}  // namespace

std::string tokenFilePath() {
  std::string base = env("XDG_CONFIG_HOME");
  if (base.empty()) {
    const std::string home = env("HOME");
    if (home.empty()) return {};
    base = home + "/.config";
  }
  return base + "/warden/token";
}

void storeToken(const std::string& token) {
  const std::string path = tokenFilePath();
  if (path.empty()) throw CliFailure("storing the token: neither XDG_CONFIG_HOME nor HOME is set");
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw CliFailure("storing the token: cannot create " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw CliFailure("storing the token: cannot write " + tmp);
  const std::string text = token + "\n";
  bool written = ::fchmod(fd, 0600) == 0;
  std::size_t done = 0;
  while (written && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) written = false;
    else done += static_cast<std::size_t>(n);
  }
  written = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw CliFailure("storing the token: cannot write " + path);
  }
}

std::string urlEncode(std::string_view text) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '-' ||
        u == '.' || u == '_' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

json ApiResponse::asJson() const { return json::parse(body, nullptr, false); }

std::string ApiResponse::errorCode() const {
  const auto j = asJson();
  return j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>()
                                                                         : std::string();
}

std::string ApiResponse::reason() const {
  const auto j = asJson();
  if (j.is_object() && j.contains("reason") && j["reason"].is_string()) {
    return token::printableText(j["reason"].get<std::string>(), 400);
  }
  std::string out = "HTTP " + std::to_string(status);
  if (!body.empty()) out += ": " + token::printableText(body, 200);
  return out;
}

struct ApiClient::Impl {
  std::string base_text;  // without a trailing slash
  token::FetchUrl base;
  std::string base_path;  // the URL's path prefix without a trailing slash
  std::unique_ptr<ssl::context> tls;
  bool check_server_name = true;
  std::shared_ptr<const identity::TrustBundleSet> bundles;  // --server-id mode
  std::string server_id;
  std::string bearer;
  int timeout_seconds = 30;

  token::FetchUrl urlFor(const std::string& path) const {
    token::FetchUrl url = base;
    url.target = base_path + path;
    url.text = base_text + path;
    return url;
  }

  // The SPIFFE check of --server-id, run on the connection after the handshake and before
  // the request is written.
  Status verifyServer(SSL* ssl_obj) const {
    // A handshake that failed is reported by httpFetch as such, not as a missing SVID.
    if (SSL_is_init_finished(ssl_obj) != 1) return {};
    X509* leaf = SSL_get0_peer_certificate(ssl_obj);
    if (leaf == nullptr) return Error{"the server presented no certificate"};
    const auto outcome = identity::verifyX509Svid(*bundles, leaf, SSL_get_peer_cert_chain(ssl_obj));
    if (!outcome.ok) {
      return Error{"the server's certificate is not an X509-SVID trusted by --bundle (" +
                   std::string(identity::toReasonCode(outcome.error.failure)) + ": " +
                   outcome.error.detail + ")"};
    }
    if (outcome.peer.id.str() != server_id) {
      return Error{"the server is " + outcome.peer.id.str() + ", not the expected --server-id " +
                   server_id};
    }
    return {};
  }

  token::HttpFetchRequest prepare(const token::FetchUrl& url, const std::string& method) const {
    token::HttpFetchRequest r;
    r.url = &url;
    r.method = method;
    r.user_agent = "warden-cli";
    r.timeout = std::chrono::seconds(timeout_seconds);
    r.tls = tls.get();
    r.check_server_name = check_server_name;
    if (bundles) r.verify = [this](SSL* s) { return verifyServer(s); };
    if (!bearer.empty()) r.headers.emplace_back("Authorization", "Bearer " + bearer);
    return r;
  }

  static token::HttpFetchResult run(const token::HttpFetchRequest& r) {
    asio::io_context ioc;
    auto result = asio::co_spawn(ioc, token::httpFetch(r), asio::use_future);
    ioc.run();
    return result.get();
  }
};

ApiClient::ApiClient() : impl_(std::make_unique<Impl>()) {}
ApiClient::~ApiClient() = default;

const std::string& ApiClient::baseUrl() const { return impl_->base_text; }

std::unique_ptr<ApiClient> ApiClient::connect(const ConnectionOptions& o, Identity identity) {
  std::unique_ptr<ApiClient> client(new ApiClient());
  Impl& impl = *client->impl_;
  impl.timeout_seconds = o.timeout_seconds;

  std::string server = setting(o.server, "WARDEN_SERVER");
  if (server.empty()) usage("no control plane given: pass --server URL or set WARDEN_SERVER");
  while (!server.empty() && server.back() == '/') server.pop_back();
  auto url = token::parseFetchUrl(server);
  if (!url) usage("--server: " + url.error().message);
  if (url->target.find('?') != std::string::npos) usage("--server: a query does not belong in the base URL");
  impl.base = *url;
  impl.base_text = server;
  impl.base_path = url->target == "/" ? std::string() : url->target;

  // Who we are.
  std::string cert, key, bearer;
  if (identity == Identity::kRequired) {
    if (!o.cert.empty() && !o.token.empty()) usage("pass either --cert/--key or --token, not both");
    if (!o.cert.empty() || !o.token.empty()) {
      cert = o.cert;
      bearer = o.token;
    } else {
      cert = env("WARDEN_CERT");
      bearer = env("WARDEN_TOKEN");
      if (!cert.empty() && !bearer.empty()) usage("WARDEN_CERT and WARDEN_TOKEN are both set; unset one");
    }
    if (!cert.empty()) {
      key = setting(o.key, "WARDEN_KEY");
      if (key.empty()) usage("--cert needs --key (or WARDEN_KEY)");
    } else if (!o.key.empty()) {
      usage("--key needs --cert");
    }
    if (cert.empty() && bearer.empty()) {
      const std::string path = tokenFilePath();
      if (!path.empty()) bearer = readTokenFile(path);
      if (bearer.empty()) {
        usage("no identity given: pass --cert/--key (an X509-SVID) or --token, set WARDEN_CERT/"
              "WARDEN_KEY or WARDEN_TOKEN, or run `warden login`");
      }
    } else if (!bearer.empty() && !token::isB64Token(bearer)) {
      usage("--token: not a bearer token");
    }
  }
  impl.bearer = bearer;

  // How we know the server.
  const std::string bundle = setting(o.bundle, "WARDEN_BUNDLE");
  impl.server_id = setting(o.server_id, "WARDEN_SERVER_ID");
  impl.tls = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX* ctx = impl.tls->native_handle();
  net::hardenTls(ctx);
  if (!cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
      throw CliFailure("--cert " + cert + ": cannot load the certificate chain (" +
                       net::drainOpensslErrors() + ")");
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
      throw CliFailure("--key " + key + ": cannot load the private key (" + net::drainOpensslErrors() + ")");
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      net::drainOpensslErrors();
      throw CliFailure("--key " + key + " does not belong to --cert " + cert);
    }
  }
  if (!impl.server_id.empty()) {
    if (bundle.empty()) usage("--server-id needs --bundle (or WARDEN_BUNDLE) to verify the server's SVID");
    auto id = identity::SpiffeId::parse(impl.server_id);
    if (!id) usage("--server-id: " + id.error().message);
    auto bundles = identity::TrustBundleSet::fromPemFiles({{std::string(id->trustDomain()), bundle}});
    if (!bundles) throw CliFailure("--bundle: " + bundles.error().message);
    impl.bundles = *bundles;
    // OpenSSL accepts any chain here; verifyServer() decides before a byte is sent.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    impl.check_server_name = false;
  } else if (!bundle.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, bundle.c_str(), nullptr) != 1) {
      throw CliFailure("--bundle " + bundle + ": cannot load CA certificates (" +
                       net::drainOpensslErrors() + ")");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    // An SVID names a SPIFFE ID, not an address: for an IP literal the bundle decides.
    impl.check_server_name = !url->host_is_ip;
  } else {
    SSL_CTX_set_default_verify_paths(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    impl.check_server_name = true;
  }
  return client;
}

ApiResponse ApiClient::request(std::string_view what, const std::string& method, const std::string& path,
                               const std::optional<json>& body, const Headers& headers,
                               std::size_t max_body_bytes) {
  const auto url = impl_->urlFor(path);
  auto r = impl_->prepare(url, method);
  r.max_body_bytes = max_body_bytes;
  for (const auto& h : headers) r.headers.push_back(h);
  if (body) {
    r.body = body->dump();
    r.content_type = "application/json";
  }
  const auto res = Impl::run(r);
  if (!res.ok) throw CliFailure(std::string(what) + ": " + res.error);
  return ApiResponse{res.status, res.body, res.etag, res.content_type};
}

ApiResponse ApiClient::stream(std::string_view what, const std::string& path,
                              const std::function<bool(std::string_view)>& on_data,
                              std::chrono::seconds idle) {
  const auto url = impl_->urlFor(path);
  auto r = impl_->prepare(url, "GET");
  r.accept = "text/event-stream";
  r.timeout = idle;
  r.on_body = on_data;
  const auto res = Impl::run(r);
  if (!res.ok) throw CliFailure(std::string(what) + ": " + res.error);
  return ApiResponse{res.status, res.body, res.etag, res.content_type};
}

void ApiClient::expectOk(std::string_view what, const ApiResponse& response) {
  if (response.ok()) return;
  std::string why = response.reason();
  if (response.status == 412) {
    why = "someone else changed it since it was read (" + why + "); read it again and retry";
  }
  throw CliFailure(std::string(what) + ": " + why);
}

}  // namespace warden::cli
