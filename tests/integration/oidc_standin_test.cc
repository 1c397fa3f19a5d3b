// `warden oidc-standin`, the demo mesh's stand-in for GitHub Actions' OIDC issuer, as the
// real binary on 127.0.0.1 with a certificate from the demo's local Web PKI. Clients here
// verify it as the token service does: TLS against ca.pem with the RFC 6125 host check
// (IP SAN), then discovery, JWKS and RS256 signatures; and the real token service, started
// in this process, exchanges its token by RFC 8693 under a federated credential.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_future.hpp>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "demo/local_web_pki.h"
#include "issuer/identity_server.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "support/http_client_harness.h"
#include "support/process_harness.h"
#include "support/test_env.h"
#include "support/test_pki.h"
#include "token/fetch_url.h"
#include "token/http_fetch.h"
#include "tokenservice/token_service.h"

namespace warden::testing {
namespace {

namespace asio = boost::asio;
using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kWait = 20s;  // bounded; generous for a loaded 2-core machine
const std::string kSubject = "repo:acme/budget-tools:ref:refs/heads/main";
const std::string kFicAudience = "api://AzureADTokenExchange";
const std::string kBackend = "api://budget-backend";
const std::string kApproval = "spiffe://example.org/budget-approval";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

unsigned modeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return 0xFFFF;
  return st.st_mode & 07777;
}

std::string formEncode(const std::string& in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// One GET over TLS verified against `ca_file` only, with the RFC 6125 check of the URL's
// host (an IP literal here, so the IP SAN): what the token service does for an issuer.
token::HttpFetchResult fetch(const std::string& url, const std::string& ca_file,
                             std::vector<std::pair<std::string, std::string>> headers = {},
                             const std::string& method = "GET") {
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  tls.load_verify_file(ca_file, ec);
  EXPECT_FALSE(ec) << ca_file << ": " << ec.message();
  auto parsed = token::parseFetchUrl(url);
  if (!parsed) {
    ADD_FAILURE() << url << ": " << parsed.error().message;
    return {};
  }
  token::HttpFetchRequest request;
  request.url = &*parsed;
  request.tls = &tls;
  request.method = method;
  request.headers = std::move(headers);
  asio::io_context ioc;
  auto result = asio::co_spawn(ioc, token::httpFetch(request), asio::use_future);
  ioc.run();
  return result.get();
}

Json jsonOf(const token::HttpFetchResult& r) {
  return Json::parse(r.body, nullptr, false);
}

// Verifies `token` with the key its kid names in `jwks` (RS256 only, as the token
// service's default); returns the payload, or an error naming what failed.
Result<Json> verifyWithJwks(const std::string& token, const Json& jwks) {
  auto jws = jose::parseCompact(token);
  if (!jws)
    return Error{"parse: " + jws.error().message};
  if (jws->header.value("alg", "") != "RS256")
    return Error{"alg is not RS256"};
  const std::string kid = jws->header.value("kid", "");
  for (const auto& k : jwks.value("keys", Json::array())) {
    if (k.value("kid", "") != kid)
      continue;
    auto key = jose::readPublicJwk(k);
    if (!key)
      return Error{"jwk: " + key.error().message};
    if (auto st = jose::verify(*jws, jose::Alg::kRS256, key->get()); !st)
      return Error{"verify: " + st.message()};
    return jws->payload;
  }
  return Error{"kid " + kid + " is not in the JWKS"};
}

class OidcStandinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = demo::makeLocalWebPki(dir_.file("pki"));
    ASSERT_TRUE(pki.ok()) << pki.error().message;
    pki_ = *pki;
    child_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{WARDEN_BINARY, "oidc-standin", "--listen", "127.0.0.1:0", "--cert",
                                 pki_.cert_file, "--key", pki_.key_file, "--subject", kSubject,
                                 "--token-file", tokenFile(), "--request-token-file",
                                 requestTokenFile(), "--refresh-seconds", "1",
                                 "--token-ttl-seconds", "300"},
        dir_.path());
    const std::string banner = "oidc stand-in: issuer ";
    ASSERT_TRUE(child_->waitForOutput(banner, kWait)) << child_->out() << child_->err();
    const std::string out = child_->out();
    const auto at = out.find(banner) + banner.size();
    issuer_ = out.substr(at, out.find('\n', at) - at);
    ASSERT_EQ(issuer_.rfind("https://127.0.0.1:", 0), 0u) << issuer_;
  }

  void TearDown() override {
    if (!child_)
      return;
    child_->signal(SIGTERM);
    const auto code = child_->wait(5s);
    EXPECT_EQ(code, std::optional<int>(0)) << "stops cleanly on SIGTERM\n" << child_->err();
  }

  std::string tokenFile() const { return dir_.file("token.jwt"); }
  std::string requestTokenFile() const { return dir_.file("request-token"); }
  Json jwks() {
    auto r = fetch(issuer_ + "/.well-known/jwks", pki_.ca_file);
    EXPECT_TRUE(r.ok && r.status == 200) << r.error << " " << r.status;
    return jsonOf(r);
  }

  TempDir dir_;
  demo::LocalWebPki pki_;
  std::unique_ptr<ChildProcess> child_;
  std::string issuer_;
};

TEST_F(OidcStandinTest, DiscoveryAndJwksOverVerifiedTls) {
  auto discovery = fetch(issuer_ + "/.well-known/openid-configuration", pki_.ca_file);
  ASSERT_TRUE(discovery.ok) << discovery.error;
  ASSERT_EQ(discovery.status, 200) << discovery.body;
  EXPECT_EQ(discovery.cache_control, "no-store");
  const Json doc = jsonOf(discovery);
  EXPECT_EQ(doc["issuer"], issuer_) << "the token service requires exact equality";
  EXPECT_EQ(doc["jwks_uri"], issuer_ + "/.well-known/jwks");
  EXPECT_EQ(doc["id_token_signing_alg_values_supported"], Json::array({"RS256"}));
  EXPECT_EQ(doc["subject_types_supported"], Json::array({"public"}));
  EXPECT_EQ(doc["response_types_supported"], Json::array({"id_token"}));
  for (const char* claim : {"sub", "aud", "exp", "iss", "repository", "runner_environment"}) {
    EXPECT_NE(std::find(doc["claims_supported"].begin(), doc["claims_supported"].end(), claim),
              doc["claims_supported"].end())
        << claim;
  }

  const Json keys = jwks();
  ASSERT_EQ(keys["keys"].size(), 1u) << keys.dump();
  const Json& key = keys["keys"][0];
  EXPECT_EQ(key["kty"], "RSA");
  EXPECT_EQ(key["alg"], "RS256");
  EXPECT_EQ(key["use"], "sig");
  EXPECT_EQ(key["kid"].get<std::string>().rfind("standin-", 0), 0u) << key.dump();
  EXPECT_FALSE(key.contains("d")) << "never private members";
  auto parsed = jose::readPublicJwk(key);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);

  // The verification above is real: a client trusting another CA refuses the server.
  TestCa other("other.test");
  const std::string other_ca = writeFile(dir_.path(), "other-ca.pem", other.certPem());
  auto refused = fetch(issuer_ + "/.well-known/openid-configuration", other_ca);
  EXPECT_FALSE(refused.ok) << "status " << refused.status;

  EXPECT_EQ(fetch(issuer_ + "/.well-known/nothing", pki_.ca_file).status, 404);
  auto post = fetch(issuer_ + "/.well-known/jwks", pki_.ca_file, {}, "POST");
  EXPECT_EQ(post.status, 405) << post.body;
}

TEST_F(OidcStandinTest, TokenFileVerifiesWithTheJwksAndIsRefreshed) {
  ASSERT_TRUE(waitUntil([&] { return !slurp(tokenFile()).empty(); }, kWait));
  EXPECT_EQ(modeOf(tokenFile()), 0600u);
  const std::string token = slurp(tokenFile());
  const Json keys = jwks();
  auto payload = verifyWithJwks(token, keys);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  const Json& c = *payload;
  EXPECT_EQ(c["iss"], issuer_);
  EXPECT_EQ(c["sub"], kSubject);
  EXPECT_EQ(c["aud"], kFicAudience);
  EXPECT_EQ(c["repository"], "acme/budget-tools");
  EXPECT_EQ(c["repository_owner"], "acme");
  EXPECT_EQ(c["ref"], "refs/heads/main");
  EXPECT_EQ(c["runner_environment"], "self-hosted");
  EXPECT_TRUE(c["jti"].is_string() && !c["jti"].get<std::string>().empty());
  EXPECT_TRUE(c["run_id"].is_string());
  ASSERT_TRUE(c["iat"].is_number_integer() && c["exp"].is_number_integer() &&
              c["nbf"].is_number_integer());
  EXPECT_EQ(c["exp"].get<std::int64_t>() - c["iat"].get<std::int64_t>(), 300);
  EXPECT_LT(c["nbf"].get<std::int64_t>(), c["iat"].get<std::int64_t>());
  auto jws = jose::parseCompact(token);
  ASSERT_TRUE(jws.ok());
  EXPECT_EQ(jws->header["typ"], "JWT");
  EXPECT_EQ(jws->header.size(), 3u) << "alg, kid, typ only: " << jws->header.dump();

  // A token that was altered does not verify (the check above can fail).
  std::string forged = token;
  const auto dot = forged.find('.');
  forged[dot + 2] = forged[dot + 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifyWithJwks(forged, keys).ok());

  // Rewritten every --refresh-seconds with a new jti; readers never see a partial file.
  ASSERT_TRUE(waitUntil(
      [&] {
        const std::string now = slurp(tokenFile());
        EXPECT_TRUE(verifyWithJwks(now, keys).ok()) << "a partial or bad file: " << now;
        return now != token;
      },
      kWait));
}

TEST_F(OidcStandinTest, TokenEndpointRequiresTheRequestToken) {
  const std::string request_token = slurp(requestTokenFile());
  ASSERT_EQ(request_token.size(), 43u) << "32 bytes, base64url";
  EXPECT_EQ(modeOf(requestTokenFile()), 0600u);

  auto none = fetch(issuer_ + "/token", pki_.ca_file);
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(jsonOf(none).value("error", ""), "unauthorized");
  std::string wrong = request_token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(fetch(issuer_ + "/token", pki_.ca_file, {{"Authorization", "Bearer " + wrong}}).status,
            401);
  EXPECT_EQ(
      fetch(issuer_ + "/token", pki_.ca_file, {{"Authorization", "Bearer " + request_token + "x"}})
          .status,
      401);

  const Json keys = jwks();
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + request_token}};
  auto plain = fetch(issuer_ + "/token", pki_.ca_file, auth);
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.cache_control, "no-store");
  const Json answer = jsonOf(plain);
  EXPECT_EQ(answer["count"], 1);
  auto claims = verifyWithJwks(answer.value("value", ""), keys);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ((*claims)["aud"], kFicAudience);

  // As GitHub's ACTIONS_ID_TOKEN_REQUEST_URL is used: other parameters, then audience.
  auto custom =
      fetch(issuer_ + "/token?api-version=2.0&audience=api%3A%2F%2Fcustom", pki_.ca_file, auth);
  ASSERT_EQ(custom.status, 200) << custom.body;
  auto custom_claims = verifyWithJwks(jsonOf(custom).value("value", ""), keys);
  ASSERT_TRUE(custom_claims.ok()) << custom_claims.error().message;
  EXPECT_EQ((*custom_claims)["aud"], "api://custom");
  EXPECT_EQ((*custom_claims)["sub"], kSubject);

  EXPECT_EQ(fetch(issuer_ + "/token?audience=a&audience=b", pki_.ca_file, auth).status, 400);
}

// The point of the stand-in: Warden's token service, configured with the stand-in as an
// external issuer trusted through the local CA, exchanges its token (RFC 8693) for an
// access token of the agent whose federated credential names that subject, and refuses
// it once no rule admits the subject.
TEST_F(OidcStandinTest, TokenServiceExchangesTheStandinsToken) {
  issuer::IdentityServerConfig identity;
  identity.trust_domain = "example.org";
  identity.state_dir = dir_.file("state");
  for (const char* name : {"token-service", "budget-approval"}) {
    issuer::RegistrationEntry e;
    e.name = name;
    e.spiffe_id = identity::SpiffeId::parse("spiffe://example.org/" + std::string(name)).value();
    e.socket_path = dir_.file(std::string(name) + ".sock");
    identity.entries.push_back(e);
  }
  auto server = issuer::IdentityServer::start(identity, {});
  ASSERT_TRUE(server.ok()) << server.error().message;

  tokenservice::TokenServiceConfig config;
  config.tls_svid_entry = "token-service";
  auto& p = config.policy;
  p.audiences = {{kBackend, std::nullopt, std::nullopt}};
  p.external_issuers = {{issuer_, pki_.ca_file, {jose::Alg::kRS256}}};
  tokenservice::AgentConfig approval;
  approval.name = "budget-approval";
  approval.spiffe_id = kApproval;
  approval.roles[kBackend] = {"Budget.Submit"};
  approval.federated_credentials = {{"gha-main", issuer_, kSubject, "", kFicAudience}};
  p.agents = {approval};
  tokenservice::TokenServiceTuning tuning;
  tuning.external_keys.cooldown = 100ms;
  auto service = tokenservice::TokenService::start(config, (*server)->issuer(), identity.entries,
                                                   dir_.file("state"), tuning);
  ASSERT_TRUE(service.ok()) << service.error().message;

  ASSERT_TRUE(waitUntil([&] { return !slurp(tokenFile()).empty(); }, kWait));
  const std::string subject_token = slurp(tokenFile());
  const std::string issuer_id = (*service)->issuerIdentifier();
  const auto path_at = issuer_id.find('/', std::string("https://").size());
  const std::string token_path =
      (path_at == std::string::npos ? "" : issuer_id.substr(path_at)) + "/token";
  auto exchange = [&] {
    const std::string body =
        "grant_type=" + formEncode("urn:ietf:params:oauth:grant-type:token-exchange") +
        "&subject_token=" + formEncode(subject_token) +
        "&subject_token_type=" + formEncode("urn:ietf:params:oauth:token-type:jwt") +
        "&audience=" + formEncode(kBackend);
    auto conn = TestConnection::tls((*service)->port(), std::nullopt);
    EXPECT_NE(conn, nullptr);
    if (conn == nullptr)
      return HttpResponse{};
    conn->send(makeRequest(
        "POST", token_path,
        "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n", body));
    auto res = conn->read(false, kWait);
    EXPECT_TRUE(res.has_value()) << conn->lastError();
    return res.value_or(HttpResponse{});
  };

  const HttpResponse ok = exchange();
  ASSERT_EQ(ok.status, 200) << ok.body;
  const Json issued = Json::parse(ok.body, nullptr, false);
  EXPECT_EQ(issued.value("issued_token_type", ""), "urn:ietf:params:oauth:token-type:access_token");
  auto access = jose::parseCompact(issued.value("access_token", ""));
  ASSERT_TRUE(access.ok()) << ok.body;
  EXPECT_EQ(access->payload["sub"], kApproval);
  EXPECT_EQ(access->payload["aud"], kBackend);

  // Same token, same keys, but the only rule now names another subject of the repository.
  p.agents[0].federated_credentials = {
      {"gha-prod", issuer_, "repo:acme/budget-tools:environment:prod", "", kFicAudience}};
  ASSERT_TRUE((*service)->replacePolicy(p).ok());
  const HttpResponse refused = exchange();
  EXPECT_EQ(refused.status, 400) << refused.body;
  const Json why = Json::parse(refused.body, nullptr, false);
  EXPECT_EQ(why.value("error", ""), "invalid_request") << refused.body;
  // Refused for the rule, not for the token (signature, keys, TLS to the issuer).
  EXPECT_NE(why.value("error_description", "").find("no federated credential"), std::string::npos)
      << refused.body;
}

// `--pki-dir` makes the local Web PKI itself (what a hand-run demo uses); without it or
// --cert/--key, and with a malformed --listen, the command is a usage error.
TEST(OidcStandinCommandTest, PkiDirAndUsageErrors) {
  TempDir dir;
  ChildProcess child({WARDEN_BINARY, "oidc-standin", "--pki-dir", dir.file("pki")}, dir.path());
  const std::string banner = "oidc stand-in: issuer ";
  ASSERT_TRUE(child.waitForOutput(banner, kWait)) << child.out() << child.err();
  const std::string out = child.out();
  const auto at = out.find(banner) + banner.size();
  const std::string issuer = out.substr(at, out.find('\n', at) - at);
  auto discovery = fetch(issuer + "/.well-known/openid-configuration", dir.file("pki/ca.pem"));
  EXPECT_EQ(discovery.status, 200) << discovery.error;
  EXPECT_EQ(modeOf(dir.file("pki/server.key")), 0600u);
  child.signal(SIGINT);
  EXPECT_EQ(child.wait(5s), std::optional<int>(0)) << child.err();

  auto neither = runToCompletion({WARDEN_BINARY, "oidc-standin"}, dir.path());
  EXPECT_EQ(neither.code, 2) << neither.err;
  EXPECT_NE(neither.err.find("--pki-dir"), std::string::npos) << neither.err;
  auto bad_listen = runToCompletion(
      {WARDEN_BINARY, "oidc-standin", "--pki-dir", dir.file("pki"), "--listen", "nowhere"},
      dir.path());
  EXPECT_EQ(bad_listen.code, 2) << bad_listen.err;
  auto bad_issuer = runToCompletion({WARDEN_BINARY, "oidc-standin", "--pki-dir", dir.file("pki"),
                                     "--issuer", "https://127.0.0.1:1/"},
                                    dir.path());
  EXPECT_EQ(bad_issuer.code, 2) << bad_issuer.err;
  EXPECT_NE(bad_issuer.err.find("trailing slash"), std::string::npos) << bad_issuer.err;
}

}  // namespace
}  // namespace warden::testing
