#include "issuer/jwt_authority.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "jose/base64url.h"
#include "jose/jwk.h"
#include "jose/jws.h"

namespace warden::issuer {
namespace {

std::string dir(const JwtAuthorityOptions& o) { return o.state_dir + "/" + o.subdir; }

PkeyRef toShared(jose::PkeyPtr key) { return adoptPkey(key.release()); }

}  // namespace

std::string_view jwtKeyTypeName(JwtKeyType type) {
  return type == JwtKeyType::kRsa2048 ? "rsa-2048" : "ec-p256";
}

std::optional<JwtKeyType> jwtKeyTypeFromName(std::string_view name) {
  if (name == "ec-p256") return JwtKeyType::kEcP256;
  if (name == "rsa-2048") return JwtKeyType::kRsa2048;
  return std::nullopt;
}

jose::Alg jwtAlgFor(EVP_PKEY* key) {
  // We only ever make P-256 and RSA keys (newKey), and load only keys we wrote.
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? jose::Alg::kRS256 : jose::Alg::kES256;
}

Result<std::unique_ptr<JwtAuthority>> JwtAuthority::open(JwtAuthorityOptions options) {
  if (auto st = identity::validateTrustDomain(options.trust_domain); !st) return st.error();
  if (options.key_ttl < std::chrono::seconds(60)) return Error{"JWT key ttl must be >= 60s"};
  if (options.subdir.empty() || options.subdir.find('/') != std::string::npos ||
      options.subdir.front() == '.') {
    return Error{"JWT key directory name \"" + options.subdir + "\" must be one plain name"};
  }
  std::unique_ptr<JwtAuthority> authority(new JwtAuthority(std::move(options)));
  if (auto st = authority->load(); !st) return st.error();
  return authority;
}

Result<JwtAuthority::Key> JwtAuthority::newKey(std::time_t now) const {
  Key k;
  if (options_.key_type == JwtKeyType::kRsa2048) {
    k.key = toShared(jose::generateRsaKey(2048));
    if (!k.key) return Error{"cannot generate an RSA 2048 key"};
  } else {
    k.key = toShared(jose::generateP256Key());
    if (!k.key) return Error{"cannot generate a P-256 key"};
  }
  auto kid = jose::jwkThumbprint(k.key.get());
  if (!kid) return kid.error();
  k.kid = *kid;
  k.created = now;
  return k;
}

std::time_t JwtAuthority::pointInLife(const Key& key, double fraction) const {
  return key.created + static_cast<std::time_t>(static_cast<double>(options_.key_ttl.count()) *
                                                fraction);
}

Status JwtAuthority::load() {
  const std::time_t now = std::time(nullptr);
  if (options_.state_dir.empty()) {
    auto k = newKey(now);
    if (!k) return k.error();
    active_ = *k;
    return {};
  }
  const std::string d = dir(options_);
  if (auto st = ensurePrivateDirectory(d); !st) return st;
  auto state_text = readOptionalFile(d + "/state.json");
  if (!state_text) return state_text.error();
  if (!*state_text) {
    auto k = newKey(now);
    if (!k) return k.error();
    active_ = *k;
    std::lock_guard lock(mutex_);
    return persistLocked();
  }
  const auto state = nlohmann::json::parse(**state_text, nullptr, false);
  if (state.is_discarded() || !state.is_object()) return Error{d + "/state.json: not JSON"};
  auto readKey = [&](const nlohmann::json& j, bool private_key) -> Result<Key> {
    if (!j.is_object() || !j.contains("kid") || !j["kid"].is_string()) {
      return Error{d + "/state.json: malformed key entry"};
    }
    Key k;
    k.kid = j["kid"].get<std::string>();
    k.created = j.value("created", std::int64_t{0});
    k.drop_at = j.value("drop_at", std::int64_t{0});
    if (private_key) {
      auto key = loadPrivateKeyFile(d + "/" + k.kid + ".key");
      if (!key) return key.error();
      if (!*key) return Error{d + "/" + k.kid + ".key is missing"};
      k.key = **key;
    } else {
      auto pub = jose::readPublicJwk(j.value("jwk", nlohmann::json::object()));
      if (!pub) return Error{d + "/state.json: " + pub.error().message};
      k.key = toShared(std::move(*pub));
    }
    return k;
  };
  try {
    auto active = readKey(state.at("active"), true);
    if (!active) return active.error();
    active_ = *active;
    if (state.contains("prepared")) {
      auto prepared = readKey(state["prepared"], true);
      if (!prepared) return prepared.error();
      prepared_ = *prepared;
    }
    sequence_ = state.value("sequence", std::int64_t{1});
    for (const auto& r : state.value("retired", nlohmann::json::array())) {
      auto k = readKey(r, false);
      if (!k) return k.error();
      retired_.push_back(*k);
    }
  } catch (const nlohmann::json::exception& e) {
    return Error{d + "/state.json: " + e.what()};
  }
  const jose::Alg wanted =
      options_.key_type == JwtKeyType::kRsa2048 ? jose::Alg::kRS256 : jose::Alg::kES256;
  if (jwtAlgFor(active_.key.get()) != wanted) {
    // Switching at once would sign with a key no relying party has seen yet; the next key
    // is of the new type and is published before it signs, as in every rotation.
    spdlog::warn("JWT keys in {}: the active key signs {}; jwt_key_type {} applies from the "
                 "next rotation (or rotate now: prepare, then activate)",
                 d, jose::algName(jwtAlgFor(active_.key.get())),
                 jwtKeyTypeName(options_.key_type));
  }
  return {};
}

Status JwtAuthority::persistLocked() {
  if (options_.state_dir.empty()) return {};
  const std::string d = dir(options_);
  auto entry = [](const Key& k) {
    return nlohmann::json{{"kid", k.kid}, {"created", k.created}};
  };
  nlohmann::json state;
  for (const Key* k : {&active_, prepared_ ? &*prepared_ : nullptr}) {
    if (k == nullptr) continue;
    if (auto st = writeFileAtomically(d + "/" + k->kid + ".key", privateKeyPem(k->key.get()), 0600);
        !st) {
      return st;
    }
  }
  state["sequence"] = sequence_;
  state["active"] = entry(active_);
  if (prepared_) state["prepared"] = entry(*prepared_);
  state["retired"] = nlohmann::json::array();
  for (const auto& k : retired_) {
    nlohmann::json jwk;
    if (auto st = jose::writePublicJwk(k.key.get(), jwk); !st) return st;
    auto e = entry(k);
    e["drop_at"] = k.drop_at;
    e["jwk"] = jwk;
    state["retired"].push_back(e);
  }
  if (auto st = writeFileAtomically(d + "/state.json", state.dump(2), 0600); !st) return st;
  // Retired keys sign nothing: their private halves are deleted.
  for (const auto& k : retired_) {
    if (auto st = removeFileIfExists(d + "/" + k.kid + ".key"); !st) return st;
  }
  return {};
}

Result<bool> JwtAuthority::rotate(std::time_t now) {
  std::lock_guard lock(mutex_);
  bool changed = false;
  const auto before = retired_.size();
  std::erase_if(retired_, [&](const Key& k) { return k.drop_at <= now; });
  changed = before != retired_.size();
  if (!prepared_ && now >= pointInLife(active_, 0.5)) {
    auto k = newKey(now);
    if (!k) return k.error();
    prepared_ = *k;
    changed = true;
  }
  if (prepared_ && now >= pointInLife(active_, 0.75)) {
    active_.drop_at = now + options_.max_token_ttl.count();
    retired_.push_back(active_);
    active_ = *prepared_;
    prepared_.reset();
    changed = true;
  }
  if (changed) {
    ++sequence_;
    if (auto st = persistLocked(); !st) return st.error();
  }
  return changed;
}

Status JwtAuthority::prepareNext() {
  std::lock_guard lock(mutex_);
  auto k = newKey(std::time(nullptr));
  if (!k) return k.error();
  prepared_ = *k;
  ++sequence_;
  return persistLocked();
}

Status JwtAuthority::activatePrepared() {
  std::lock_guard lock(mutex_);
  if (!prepared_) return Error{"no prepared JWT key to activate (prepare one first)"};
  active_.drop_at = std::time(nullptr) + options_.max_token_ttl.count();
  retired_.push_back(active_);
  active_ = *prepared_;
  active_.created = std::time(nullptr);
  prepared_.reset();
  ++sequence_;
  return persistLocked();
}

Result<std::string> JwtAuthority::sign(nlohmann::json header, const nlohmann::json& claims) const {
  Key key;
  {
    std::lock_guard lock(mutex_);
    key = active_;
  }
  header["kid"] = key.kid;
  return jose::signCompact(std::move(header), claims, jwtAlgFor(key.key.get()), key.key.get());
}

Result<MintedJwtSvid> JwtAuthority::mint(const identity::SpiffeId& subject,
                                         const std::vector<std::string>& audiences,
                                         std::chrono::seconds ttl) const {
  if (audiences.empty()) return Error{"a JWT-SVID needs at least one audience"};
  unsigned char jti[16];
  if (RAND_bytes(jti, sizeof(jti)) != 1) return Error{"no randomness for a jti"};
  const std::time_t now = std::time(nullptr);
  MintedJwtSvid out;
  out.expires_at = now + ttl.count();
  nlohmann::json claims = {{"sub", subject.str()},
                           {"aud", audiences},
                           {"iat", now},
                           {"exp", out.expires_at},
                           {"jti", jose::base64UrlEncode(std::string_view(
                                       reinterpret_cast<const char*>(jti), sizeof(jti)))}};
  if (!options_.issuer.empty()) claims["iss"] = options_.issuer;
  auto token = sign({{"typ", "JWT"}}, claims);
  if (!token) return token.error();
  out.token = *token;
  return out;
}

std::vector<identity::JwtAuthority> JwtAuthority::publishedKeys() const {
  std::lock_guard lock(mutex_);
  std::vector<identity::JwtAuthority> out;
  if (prepared_) out.push_back({prepared_->kid, prepared_->key});
  out.push_back({active_.kid, active_.key});
  for (const auto& k : retired_) out.push_back({k.kid, k.key});
  return out;
}

std::vector<JwtAuthority::KeyState> JwtAuthority::keyStates() const {
  std::lock_guard lock(mutex_);
  const auto leaves = [&](const Key& k) { return pointInLife(k, 0.75) + options_.max_token_ttl.count(); };
  std::vector<KeyState> out;
  if (prepared_) out.push_back({prepared_->kid, "next", leaves(*prepared_)});
  out.push_back({active_.kid, "active", leaves(active_)});
  for (const auto& k : retired_) out.push_back({k.kid, "retiring", k.drop_at});
  return out;
}

std::int64_t JwtAuthority::sequence() const {
  std::lock_guard lock(mutex_);
  return sequence_;
}

std::string JwtAuthority::activeKid() const {
  std::lock_guard lock(mutex_);
  return active_.kid;
}

}  // namespace warden::issuer
