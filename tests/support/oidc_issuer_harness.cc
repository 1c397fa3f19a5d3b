#include "support/oidc_issuer_harness.h"

#include <csignal>

#include "support/http_client_harness.h"
#include "support/test_env.h"

namespace warden::testing {

using Json = nlohmann::json;
using namespace std::chrono_literals;

Json lastJsonLine(const std::string& out) {
  const auto end = out.find_last_not_of('\n');
  if (end == std::string::npos)
    return Json();
  const auto begin = out.rfind('\n', end);
  return Json::parse(out.substr(begin == std::string::npos ? 0 : begin + 1, end + 1), nullptr,
                     false);
}

FakeOidcIssuer::FakeOidcIssuer(const std::string& node, const TempDir& dir, const std::string& name,
                               const std::string& cert, const std::string& key,
                               const std::string& claimed_issuer) {
  Json opts = {{"cert", cert}, {"key", key}};
  if (!claimed_issuer.empty())
    opts["discovery_issuer"] = claimed_issuer;
  const auto path = writeFile(dir.path(), name + ".json", opts.dump());
  child_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{node, interopDir() + "/fake_oidc_issuer.mjs", path}, dir.path());
  if (child_->waitForOutput("\"issuer\"", 15s)) {
    const Json line = lastJsonLine(child_->out());
    if (line.is_object() && line.contains("issuer"))
      issuer_ = line["issuer"];
  }
}

FakeOidcIssuer::~FakeOidcIssuer() {
  child_->signal(SIGTERM);
  child_->wait(2s);
}

std::string FakeOidcIssuer::log() const {
  return child_->out() + child_->err();
}

std::string FakeOidcIssuer::mint(const Json& spec) const {
  const auto colon = issuer_.rfind(':');
  if (issuer_.empty() || colon == std::string::npos)
    return {};
  // The issuer's certificate is the test's; TestConnection does not verify servers.
  auto c = TestConnection::tls(static_cast<std::uint16_t>(std::stoi(issuer_.substr(colon + 1))),
                               std::nullopt);
  if (!c ||
      !c->send(makeRequest("POST", "/mint", "Content-Type: application/json\r\n", spec.dump()))) {
    return {};
  }
  const auto res = c->read();
  return res && res->status == 200 ? res->body : std::string();
}

}  // namespace warden::testing
