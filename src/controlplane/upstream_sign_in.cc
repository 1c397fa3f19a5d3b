#include "controlplane/upstream_sign_in.h"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "controlplane/sign_in_page.h"
#include "controlplane/upstream_id_token.h"
#include "controlplane/upstream_metadata.h"
#include "jose/base64url.h"
#include "net/tls_client.h"
#include "token/access_token.h"
#include "token/http_fetch.h"
#include "token/jwks_source.h"

namespace warden::controlplane {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
using net::HttpResponse;

struct UpstreamSignIn::Provider {
  SignInProviderConfig config;
  std::string client_secret;
  token::FetchUrl discovery_url;
  std::shared_ptr<ssl::context> tls;
  std::shared_ptr<token::JwksSource> keys;
  std::unique_ptr<const token::AccessTokenVerifier> verifier;

  mutable std::mutex mutex;
  std::optional<ProviderMetadata> metadata;       // guarded by mutex
  std::chrono::steady_clock::time_point fetched;  // guarded by mutex

  std::optional<ProviderMetadata> current() const {
    std::lock_guard lock(mutex);
    return metadata;
  }
};

namespace {

using Provider = UpstreamSignIn::Provider;

// Every algorithm the verifier knows; discovery then narrows it per token (upstream_id_token.h).
const std::vector<std::string> kAsymmetric{"RS256", "RS384", "RS512", "PS256", "PS384",
                                           "PS512", "ES256", "ES384", "ES512"};

Result<std::string> readSecret(const std::string& path, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error{field + ": cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
    secret.pop_back();
  if (secret.empty())
    return Error{field + ": " + path + " is empty"};
  if (secret.size() > 4096)
    return Error{field + ": " + path + " holds more than 4096 bytes"};
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    spdlog::warn("{}: {} may be read by others than its owner (chmod 600 recommended)", field,
                 path);
  }
  return secret;
}

Result<std::shared_ptr<ssl::context>> clientTls(const std::string& ca_file,
                                                const std::string& field) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  net::hardenTls(ctx->native_handle());
  ctx->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec)
      return Error{field + ": cannot load the system CA roots: " + ec.message()};
  } else {
    ctx->load_verify_file(ca_file, ec);
    if (ec)
      return Error{field + ".ca_file \"" + ca_file + "\": " + net::withOpensslErrors(ec)};
  }
  return ctx;
}

// RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64'd.
std::string basicAuthorization(const std::string& id, const std::string& secret) {
  return "Basic " + jose::base64Encode(formEncode(id) + ":" + formEncode(secret));
}

std::string s256(std::string_view verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  return jose::base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

asio::awaitable<Result<ProviderMetadata>> fetchMetadata(const Provider& p,
                                                        std::chrono::milliseconds timeout) {
  token::HttpFetchRequest request;
  request.url = &p.discovery_url;
  request.user_agent = "warden-sign-in";
  request.timeout = timeout;
  request.tls = p.tls.get();
  token::HttpFetchResult res = co_await token::httpFetch(request);
  if (!res.ok)
    co_return Error{res.error};
  if (res.status != 200) {
    co_return Error{p.discovery_url.text + ": HTTP " + std::to_string(res.status)};
  }
  auto parsed = parseProviderMetadata(res.body, p.config.issuer);
  if (!parsed)
    co_return Error{p.discovery_url.text + ": " + parsed.error().message};
  co_return std::move(*parsed);
}

void keep(Provider& p, ProviderMetadata metadata) {
  std::lock_guard lock(p.mutex);
  p.metadata = std::move(metadata);
  p.fetched = std::chrono::steady_clock::now();
}

// The provider's metadata, fetched again when stale; the last good one when that fails.
asio::awaitable<std::optional<ProviderMetadata>> metadataFor(Provider& p,
                                                             std::chrono::seconds refresh,
                                                             std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(p.mutex);
    if (p.metadata && std::chrono::steady_clock::now() - p.fetched < refresh)
      co_return p.metadata;
  }
  auto fetched = co_await fetchMetadata(p, timeout);
  if (fetched) {
    keep(p, *fetched);
    co_return std::move(*fetched);
  }
  spdlog::warn("portal sign-in via {}: discovery failed: {}", p.config.name,
               fetched.error().message);
  co_return p.current();
}

}  // namespace

UpstreamSignIn::UpstreamSignIn(UpstreamSignInOptions options, PortalLogin& portal)
    : options_(std::move(options)),
      portal_(portal),
      pending_(options_.max_pending, options_.state_ttl) {}

UpstreamSignIn::~UpstreamSignIn() = default;

std::time_t UpstreamSignIn::now() const {
  return options_.now ? options_.now() : std::time(nullptr);
}

UpstreamSignIn::Provider* UpstreamSignIn::find(std::string_view name) const {
  for (const auto& p : providers_) {
    if (p->config.name == name)
      return p.get();
  }
  return nullptr;
}

Result<std::unique_ptr<UpstreamSignIn>> UpstreamSignIn::create(
    const std::vector<SignInProviderConfig>& providers, UpstreamSignInOptions options,
    PortalLogin& portal, const std::string& field) {
  std::unique_ptr<UpstreamSignIn> out(new UpstreamSignIn(std::move(options), portal));
  for (std::size_t i = 0; i < providers.size(); ++i) {
    const std::string f = field + "[" + std::to_string(i) + "]";
    auto p = std::make_unique<Provider>();
    p->config = providers[i];
    auto secret = readSecret(p->config.client_secret_file, f + ".client_secret_file");
    if (!secret)
      return secret.error();
    p->client_secret = std::move(*secret);
    auto discovery = token::parseFetchUrl(p->config.discovery);
    if (!discovery)
      return Error{f + ".discovery: " + discovery.error().message};
    p->discovery_url = std::move(*discovery);
    auto tls = clientTls(p->config.ca_file, f);
    if (!tls)
      return tls.error();
    p->tls = std::move(*tls);

    token::TokenIssuerConfig issuer;
    issuer.issuer = p->config.issuer;
    issuer.discovery_url = p->config.discovery;
    issuer.ca_file = p->config.ca_file;
    issuer.algorithms = kAsymmetric;
    issuer.audiences = {p->config.client_id};
    issuer.require_typ.clear();  // ID tokens say JWT, or nothing (OIDC Core §2)
    issuer.required_claims = {"sub", "iat"};
    issuer.roles_claim = p->config.role_claim;
    auto keys = token::JwksSource::start(issuer);
    if (!keys)
      return Error{f + ": " + keys.error().message};
    p->keys = *keys;
    token::TokenRequirements requirements;
    requirements.issuers = {issuer.issuer};
    auto verifier = token::AccessTokenVerifier::create(requirements, {{issuer, p->keys}});
    if (!verifier)
      return Error{f + ": " + verifier.error().message};
    p->verifier = std::move(*verifier);
    out->providers_.push_back(std::move(p));
  }
  return out;
}

bool UpstreamSignIn::prefetch(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::io_context ioc;
  for (const auto& p : providers_) {
    Provider* raw = p.get();
    asio::co_spawn(
        ioc,
        [](Provider* provider, std::chrono::milliseconds t) -> asio::awaitable<void> {
          auto fetched = co_await fetchMetadata(*provider, t);
          if (fetched) {
            keep(*provider, std::move(*fetched));
          } else {
            spdlog::warn("portal sign-in via {}: discovery failed: {}", provider->config.name,
                         fetched.error().message);
          }
        }(raw, timeout),
        asio::detached);
  }
  ioc.run_for(timeout);
  bool all = true;
  for (const auto& p : providers_) {
    const auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - std::chrono::steady_clock::now()),
                               std::chrono::milliseconds(0));
    all = p->current().has_value() && p->keys->waitReady(left) && all;
  }
  return all;
}

std::vector<SignInButton> UpstreamSignIn::buttons() const {
  std::vector<SignInButton> out;
  for (const auto& p : providers_) {
    const auto m = p->current();
    out.push_back({p->config.name, p->config.display_name,
                   originOf(m ? m->authorization_endpoint : p->config.issuer)});
  }
  return out;
}

asio::awaitable<HttpResponse> UpstreamSignIn::begin(std::string content_type, std::string body) {
  if (!formContentType(content_type))
    co_return signInErrorPage(400, "Send the sign-in form as a form.");
  const auto params = parseForm(body);
  auto checked = portal_.checkRequest(params);
  if (auto* res = std::get_if<HttpResponse>(&checked))
    co_return std::move(*res);
  const AuthorizationRequest request = std::get<AuthorizationRequest>(checked);
  Provider* p = find(formValue(*params, "provider"));
  if (p == nullptr)
    co_return portal_.signInPage(400, request, "Unknown sign-in provider.");
  const auto metadata =
      co_await metadataFor(*p, options_.metadata_refresh, options_.request_timeout);
  if (!metadata) {
    co_return portal_.signInPage(503, request,
                                 p->config.display_name +
                                     " cannot be reached right now. Try again later, or sign in "
                                     "with a password.");
  }
  PendingUpstream entry;
  entry.provider = p->config.name;
  entry.nonce = randomToken();
  entry.code_verifier = randomToken();  // 43 characters, RFC 7636 §4.1
  entry.request = request;
  if (entry.nonce.empty() || entry.code_verifier.empty()) {
    co_return portal_.signInPage(500, request, "The sign-in could not be started.");
  }
  const std::string challenge = s256(entry.code_verifier);
  const std::string nonce = entry.nonce;
  const auto state = pending_.add(std::move(entry), now());
  if (!state) {
    co_return portal_.signInPage(503, request,
                                 "Too many sign-ins are under way. Try again in a minute.");
  }
  std::string scope;
  for (const auto& s : p->config.scopes)
    scope += (scope.empty() ? "" : " ") + s;
  // OIDC Core §3.1.2.1, RFC 7636 §4.3.
  const std::string query =
      "response_type=code&client_id=" + formEncode(p->config.client_id) +
      "&redirect_uri=" + formEncode(options_.base_url + "/oauth2/callback/" + p->config.name) +
      "&scope=" + formEncode(scope) + "&state=" + formEncode(*state) +
      "&nonce=" + formEncode(nonce) + "&code_challenge=" + formEncode(challenge) +
      "&code_challenge_method=S256";
  co_return signInRedirect(withQuery(metadata->authorization_endpoint, query));
}

asio::awaitable<HttpResponse> UpstreamSignIn::callback(std::string name, std::string encoded_query,
                                                       std::string source) {
  Provider* p = find(name);
  if (p == nullptr)
    co_return signInErrorPage(404, "Unknown sign-in provider.");
  const SignInProviderConfig& config = p->config;
  auto refuse = [&](std::string_view why) {
    spdlog::info("portal sign-in via {} refused: {} (from {})", config.name, why, source);
  };
  const auto params = parseForm(encoded_query);
  if (!params) {
    refuse("malformed callback parameters");
    co_return signInErrorPage(400, "The answer of the sign-in provider is malformed.");
  }
  const std::string state = formValue(*params, "state");
  // Single use: taken whatever happens next, so neither a replay nor a second try with
  // another code can use it (RFC 6749 §10.12).
  auto entry = pending_.take(state, now());
  if (!entry) {
    refuse(state.empty() ? "no state" : "unknown, used or expired state");
    co_return signInErrorPage(
        400, "This sign-in has expired or was already used. Start again from the portal.");
  }
  if (entry->provider != config.name) {
    refuse("the state belongs to provider " + entry->provider);
    co_return signInErrorPage(400, "This sign-in was started with another provider. Start again.");
  }
  const AuthorizationRequest& request = entry->request;
  const auto metadata = p->current();
  if (!metadata) {
    co_return portal_.signInPage(503, request,
                                 config.display_name + " cannot be reached right now.");
  }
  // RFC 9207 §2.4: the answer must come from the provider we sent the person to (a mix-up
  // with another provider's response is refused).
  const auto iss = params->find("iss");
  if ((iss != params->end() && iss->second != config.issuer) ||
      (iss == params->end() && metadata->iss_parameter)) {
    refuse("the authorization response's iss is not the provider's");
    co_return signInErrorPage(400, "The answer did not come from the sign-in provider.");
  }
  if (const std::string error = formValue(*params, "error"); !error.empty()) {
    // RFC 6749 §4.1.2.1: passed on to the portal's (checked) redirect URI, as access_denied
    // or, for a provider that is down, temporarily_unavailable.
    const bool down = error == "temporarily_unavailable" || error == "server_error";
    refuse("the provider answered " + token::printableText(error, 64));
    const std::string_view code = down ? "temporarily_unavailable" : "access_denied";
    const std::string description = "sign-in at " + config.display_name + " failed";
    co_return portal_.errorRedirect(request, code, description);
  }
  const std::string code = formValue(*params, "code");
  if (code.empty()) {
    refuse("no code");
    co_return signInErrorPage(400, "The answer of the sign-in provider has no code.");
  }

  // OIDC Core §3.1.3.1: the code for tokens, server to server.
  token::HttpFetchRequest exchange;
  exchange.url = &metadata->token_endpoint;
  exchange.post = true;
  exchange.content_type = "application/x-www-form-urlencoded";
  exchange.body = "grant_type=authorization_code&code=" + formEncode(code) + "&redirect_uri=" +
                  formEncode(options_.base_url + "/oauth2/callback/" + config.name) +
                  "&code_verifier=" + formEncode(entry->code_verifier);
  exchange.headers = {{"Authorization", basicAuthorization(config.client_id, p->client_secret)}};
  exchange.user_agent = "warden-sign-in";
  exchange.timeout = options_.request_timeout;
  exchange.tls = p->tls.get();
  const token::HttpFetchResult answer = co_await token::httpFetch(exchange);
  if (!answer.ok) {
    spdlog::warn("portal sign-in via {}: token endpoint: {}", config.name, answer.error);
    co_return portal_.signInPage(502, request,
                                 config.display_name + " cannot be reached right now.");
  }
  auto body = jose::parseJsonNoDuplicates(answer.body);
  if (answer.status != 200 || !body || !body->is_object()) {
    std::string why = "the token endpoint answered HTTP " + std::to_string(answer.status);
    if (body && body->is_object() && body->contains("error") && (*body)["error"].is_string()) {
      why += " " + token::printableText((*body)["error"].get<std::string>(), 64);
    }
    refuse(why);
    co_return portal_.signInPage(
        502, request, "The sign-in at " + config.display_name + " could not be completed.");
  }
  const auto id_token = body->find("id_token");
  if (id_token == body->end() || !id_token->is_string()) {
    refuse("the token response has no id_token");
    co_return portal_.signInPage(
        502, request, "The sign-in at " + config.display_name + " could not be completed.");
  }

  // OIDC Core §3.1.3.7.
  const std::time_t t = now();
  const auto verdict =
      p->verifier->verify(id_token->get_ref<const std::string&>(), token::CallerBinding{},
                          std::chrono::system_clock::from_time_t(t));
  Status checked = verdict.ok ? Status{} : Status{Error{verdict.reason + ": " + verdict.detail}};
  if (checked) {
    IdTokenExpectations expected;
    expected.client_id = config.client_id;
    expected.nonce = entry->nonce;
    expected.algorithms = metadata->id_token_algorithms;
    expected.now = static_cast<std::int64_t>(t);
    checked = checkIdToken(*verdict.token, expected);
  }
  Result<std::string> subject = Error{""};
  if (checked) {
    subject = upstreamSubject(verdict.token->claims, config);
    if (!subject)
      checked = subject.error();
  }
  if (!checked) {
    refuse("ID token: " + checked.message());
    co_return portal_.signInPage(
        401, request, "The sign-in at " + config.display_name + " could not be verified.");
  }
  const Role role = upstreamRole(*verdict.token, config);
  if (role == Role::kNone) {
    spdlog::info("portal sign-in via {}: {} has no value of {} mapped to a Warden role",
                 config.name, *subject, config.role_claim);
    co_return portal_.signInPage(403, request,
                                 "Your account at " + config.display_name + " has no Warden role.");
  }
  spdlog::info("portal sign-in via {}: {} as {}", config.name, *subject, roleName(role));
  co_return portal_.issueCode(request, *subject, role);
}

}  // namespace warden::controlplane
