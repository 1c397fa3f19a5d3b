#include "token/oauth_client.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "jose/base64url.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "token/http_fetch.h"

namespace warden::token {
namespace {

using nlohmann::json;

constexpr std::int64_t kMaxExpiresInSeconds = 366LL * 24 * 3600;

bool unreservedFormByte(unsigned char c) {
  return std::isalnum(c) != 0 || c == '*' || c == '-' || c == '.' || c == '_';
}

std::string lowerCopy(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return out;
}

// "application/json" with optional parameters (charset), case-insensitively.
bool isJsonMediaType(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  std::string_view type = content_type.substr(0, semicolon);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return lowerCopy(type) == "application/json";
}

std::optional<jose::Alg> algForKey(EVP_PKEY* key) {
  for (const jose::Alg alg : {jose::Alg::kES256, jose::Alg::kES384, jose::Alg::kES512,
                              jose::Alg::kRS256}) {
    if (jose::keyFitsAlg(key, alg)) return alg;
  }
  return std::nullopt;
}

std::int64_t unixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The unverified `exp` of a JWS-shaped token, if it has one.
std::optional<std::int64_t> unverifiedExp(std::string_view token) {
  const auto first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const auto payload = jose::base64UrlDecode(token.substr(first + 1, second - first - 1));
  if (!payload) return std::nullopt;
  auto claims = jose::parseJsonNoDuplicates(*payload);
  if (!claims || !claims->is_object()) return std::nullopt;
  const auto exp = claims->find("exp");
  if (exp == claims->end() || !exp->is_number_integer()) return std::nullopt;
  return exp->get<std::int64_t>();
}

// expires_in: a JSON integer (RFC 6749 §5.1), or a string of digits (Entra's v1 endpoint
// sends "3599"); nullopt when absent; an error for anything else.
Result<std::optional<std::int64_t>> readExpiresIn(const json& doc) {
  const auto it = doc.find("expires_in");
  if (it == doc.end()) return std::optional<std::int64_t>();
  std::int64_t value = -1;
  if (it->is_number_unsigned() || it->is_number_integer()) {
    value = it->get<std::int64_t>();
  } else if (it->is_string()) {
    const auto& text = it->get_ref<const std::string&>();
    if (text.empty() || text.size() > 12 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Error{"expires_in is not a number"};
    }
    value = std::stoll(text);
  } else {
    return Error{"expires_in is not an integer"};
  }
  if (value <= 0 || value > kMaxExpiresInSeconds) {
    return Error{"expires_in " + std::to_string(value) + " is out of range"};
  }
  return std::optional<std::int64_t>(value);
}

}  // namespace

std::string formUrlEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  auto append = [&out](const std::string& text) {
    for (const char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      if (unreservedFormByte(c)) {
        out += ch;
      } else if (c == ' ') {
        out += '+';
      } else {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 0x0F];
      }
    }
  };
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    append(name);
    out += '=';
    append(value);
  }
  return out;
}

bool isB64Token(std::string_view token) {
  // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  std::size_t i = 0;
  while (i < token.size()) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (std::isalnum(c) == 0 && c != '-' && c != '.' && c != '_' && c != '~' && c != '+' &&
        c != '/') {
      break;
    }
    ++i;
  }
  if (i == 0) return false;
  while (i < token.size() && token[i] == '=') ++i;
  return i == token.size();
}

Result<std::string> signClientAssertion(EVP_PKEY* key, X509* leaf,
                                        const ClientAssertionSpec& spec) {
  if (key == nullptr) return Error{"no private key to sign the client assertion with"};
  const auto alg = algForKey(key);
  if (!alg) {
    return Error{"the SVID's key type cannot sign a client assertion (EC P-256/384/521 or "
                 "RSA >= 2048)"};
  }
  auto kid = jose::jwkThumbprint(key);
  if (!kid) return Error{"client assertion key: " + kid.error().message};
  json header = {{"typ", "JWT"}, {"kid", *kid}};
  if (leaf != nullptr) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(leaf, EVP_sha256(), md, &len) == 1) {
      header["x5t#S256"] =
          jose::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(md), len));
    }
  }
  unsigned char jti[16];
  if (RAND_bytes(jti, sizeof(jti)) != 1) return Error{"no randomness for a jti"};
  const std::int64_t iat = unixSeconds(spec.now);
  const json claims = {
      {"iss", spec.client_id},
      {"sub", spec.client_id},
      {"aud", spec.audience},
      {"jti", jose::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(jti),
                                                     sizeof(jti)))},
      {"iat", iat},
      {"exp", iat + spec.lifetime.count()}};
  return jose::signCompact(header, claims, *alg, key);
}

Result<std::string> subjectTokenFromFile(std::string_view contents) {
  if (contents.size() > kMaxSubjectTokenFileBytes) {
    return Error{"the subject token file is larger than " +
                 std::to_string(kMaxSubjectTokenFileBytes) + " bytes"};
  }
  constexpr std::string_view kSpace = " \t\r\n";
  const auto begin = contents.find_first_not_of(kSpace);
  if (begin == std::string_view::npos)
    return Error{"the subject token file is empty"};
  const auto token = contents.substr(begin, contents.find_last_not_of(kSpace) - begin + 1);
  for (const char& ch : token) {
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
    // The position, never the character: the file is a credential.
    if (!ok) {
      return Error{"the subject token file holds a character outside the JWT alphabet (at byte " +
                   std::to_string(static_cast<std::size_t>(&ch - contents.data())) + ")"};
    }
  }
  return std::string(token);
}

Result<ObtainedToken> parseTokenResponse(int status, std::string_view content_type,
                                         std::string_view body,
                                         std::chrono::system_clock::time_point now) {
  auto doc = isJsonMediaType(content_type) ? jose::parseJsonNoDuplicates(body)
                                           : Result<json>(Error{"not application/json"});
  if (status != 200) {
    // RFC 6749 §5.2: {"error", "error_description"}; shown, never trusted.
    std::string why = "HTTP " + std::to_string(status);
    if (doc && doc->is_object()) {
      const auto error = doc->find("error");
      if (error != doc->end() && error->is_string()) {
        why += " " + printableText(error->get_ref<const std::string&>(), 64);
      }
      const auto description = doc->find("error_description");
      if (description != doc->end() && description->is_string()) {
        // IdPs explain at length (Entra's AADSTS texts): keep enough to act on.
        why += ": " + printableText(description->get_ref<const std::string&>(), 400);
      }
    }
    return Error{std::move(why)};
  }
  if (!doc) {
    return Error{"the token response is not a JSON object (" +
                 printableText(content_type, 64) + "): " + doc.error().message};
  }
  if (!doc->is_object()) return Error{"the token response is not a JSON object"};

  const auto token = doc->find("access_token");
  if (token == doc->end() || !token->is_string() || token->get_ref<const std::string&>().empty()) {
    return Error{"the token response has no access_token"};
  }
  const auto& access_token = token->get_ref<const std::string&>();
  if (access_token.size() > kMaxAccessTokenBytes) {
    return Error{"the access token is larger than " + std::to_string(kMaxAccessTokenBytes) +
                 " bytes"};
  }
  if (!isB64Token(access_token)) {
    return Error{"the access token contains characters a Bearer credential cannot carry"};
  }
  const auto type = doc->find("token_type");
  if (type == doc->end() || !type->is_string()) {
    return Error{"the token response has no token_type"};
  }
  if (lowerCopy(type->get_ref<const std::string&>()) != "bearer") {
    return Error{"token_type \"" + printableText(type->get_ref<const std::string&>(), 32) +
                 "\" is not Bearer"};
  }
  if (const auto issued = doc->find("issued_token_type"); issued != doc->end()) {
    if (!issued->is_string() || (issued->get_ref<const std::string&>() != kTokenTypeAccessToken &&
                                 issued->get_ref<const std::string&>() != kTokenTypeJwt)) {
      return Error{"issued_token_type " + printableText(issued->dump(), 96) +
                   " is not an access token"};
    }
  }
  auto expires_in = readExpiresIn(*doc);
  if (!expires_in) return expires_in.error();
  const auto exp = unverifiedExp(access_token);
  if (!*expires_in && !exp) {
    return Error{"the token response has no expires_in and the token carries no exp"};
  }

  ObtainedToken out;
  out.access_token = access_token;
  out.expires_in_given = expires_in->has_value();
  auto expires_at = std::chrono::system_clock::time_point::max();
  if (*expires_in) expires_at = now + std::chrono::seconds(**expires_in);
  if (exp) {
    // Compared in seconds first, so that no claim value can overflow the clock's type.
    const std::int64_t left = *exp - unixSeconds(now);
    if (left <= 0) return Error{"the access token has already expired (exp)"};
    if (left <= kMaxExpiresInSeconds) {
      expires_at = std::min(expires_at, std::chrono::system_clock::time_point(
                                            std::chrono::seconds(*exp)));
    } else if (!*expires_in) {
      return Error{"the access token's exp is more than a year away"};
    }
  }
  if (expires_at <= now) return Error{"the access token has already expired"};
  out.expires_at = expires_at;
  if (const auto scope = doc->find("scope"); scope != doc->end() && scope->is_string()) {
    out.scope = scope->get_ref<const std::string&>();
  }
  return out;
}

}  // namespace warden::token
