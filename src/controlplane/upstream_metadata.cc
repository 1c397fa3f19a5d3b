#include "controlplane/upstream_metadata.h"

#include <algorithm>

#include "jose/jws.h"
#include "token/http_fetch.h"

namespace warden::controlplane {
namespace {

using nlohmann::json;

Result<std::vector<std::string>> stringList(const json& doc, const char* key, bool required) {
  std::vector<std::string> out;
  const auto it = doc.find(key);
  if (it == doc.end()) {
    if (required)
      return Error{std::string("\"") + key + "\" is missing"};
    return out;
  }
  if (!it->is_array())
    return Error{std::string("\"") + key + "\" is not a list"};
  for (const auto& v : *it) {
    if (!v.is_string())
      return Error{std::string("\"") + key + "\" holds a non-string"};
    out.push_back(v.get<std::string>());
  }
  return out;
}

bool contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

Result<ProviderMetadata> parseProviderMetadata(std::string_view document, std::string_view issuer) {
  auto parsed = jose::parseJsonNoDuplicates(document);
  if (!parsed)
    return Error{"discovery document: " + parsed.error().message};
  const json& doc = *parsed;
  if (!doc.is_object())
    return Error{"discovery document: not a JSON object"};
  auto text = [&](const char* key) -> Result<std::string> {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return Error{std::string("discovery document: \"") + key + "\" missing or not a string"};
    }
    return it->get<std::string>();
  };
  auto iss = text("issuer");
  if (!iss)
    return iss.error();
  if (*iss != issuer) {
    return Error{"discovery document names issuer \"" + token::printableText(*iss) +
                 "\", not the configured \"" + std::string(issuer) + "\""};
  }
  ProviderMetadata out;
  auto authorization = text("authorization_endpoint");
  if (!authorization)
    return authorization.error();
  if (auto url = token::parseFetchUrl(*authorization); !url) {
    return Error{"discovery document: authorization_endpoint: " + url.error().message};
  }
  out.authorization_endpoint = std::move(*authorization);
  auto token_endpoint = text("token_endpoint");
  if (!token_endpoint)
    return token_endpoint.error();
  auto token_url = token::parseFetchUrl(*token_endpoint);
  if (!token_url)
    return Error{"discovery document: token_endpoint: " + token_url.error().message};
  out.token_endpoint = std::move(*token_url);

  auto responses = stringList(doc, "response_types_supported", true);
  if (!responses)
    return Error{"discovery document: " + responses.error().message};
  if (!contains(*responses, "code")) {
    return Error{"discovery document: the provider does not offer response_type code"};
  }
  // Omitted means client_secret_basic (OIDC Discovery §3).
  auto auth_methods = stringList(doc, "token_endpoint_auth_methods_supported", false);
  if (!auth_methods)
    return Error{"discovery document: " + auth_methods.error().message};
  if (!auth_methods->empty() && !contains(*auth_methods, "client_secret_basic")) {
    return Error{"discovery document: the token endpoint does not accept client_secret_basic"};
  }
  auto algs = stringList(doc, "id_token_signing_alg_values_supported", true);
  if (!algs)
    return Error{"discovery document: " + algs.error().message};
  for (const auto& alg : *algs) {
    // jose names the asymmetric algorithms only: never none, never HS*.
    if (jose::algFromName(alg) && !contains(out.id_token_algorithms, alg)) {
      out.id_token_algorithms.push_back(alg);
    }
  }
  if (out.id_token_algorithms.empty()) {
    return Error{"discovery document: no ID token signing algorithm Warden accepts (RS/PS/ES)"};
  }
  const auto iss_param = doc.find("authorization_response_iss_parameter_supported");
  out.iss_parameter = iss_param != doc.end() && iss_param->is_boolean() && iss_param->get<bool>();
  return out;
}

}  // namespace warden::controlplane
