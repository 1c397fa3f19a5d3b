#include "token/key_set.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace warden::token {
namespace {

std::atomic<std::uint64_t> next_generation{1};

// kids and member values are producer text headed for logs: printable ASCII only, short.
std::string printable(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out;
  for (const char c : text.substr(0, kMax)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (text.size() > kMax) out += "...";
  return out;
}

std::string entryName(std::size_t index, const nlohmann::json& entry) {
  std::string name = "keys[" + std::to_string(index) + "]";
  if (const auto kid = entry.find("kid"); kid != entry.end() && kid->is_string()) {
    name += " (kid \"" + printable(kid->get_ref<const std::string&>()) + "\")";
  }
  return name;
}

}  // namespace

Result<std::shared_ptr<const KeySet>> KeySet::fromJwks(std::string_view json_text) {
  if (json_text.size() > kMaxJwksBytes) {
    return Error{"JWKS of " + std::to_string(json_text.size()) + " bytes exceeds the limit of " +
                 std::to_string(kMaxJwksBytes)};
  }
  auto doc = jose::parseJsonNoDuplicates(json_text);
  if (!doc) return Error{"JWKS: " + doc.error().message};
  const auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) {
    return Error{"JWKS: \"keys\" missing or not an array"};
  }
  if (keys->size() > kMaxJwksKeys) {
    return Error{"JWKS has " + std::to_string(keys->size()) + " keys, more than the limit of " +
                 std::to_string(kMaxJwksKeys)};
  }

  std::shared_ptr<KeySet> set(new KeySet());
  std::set<std::string> kids;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const nlohmann::json& entry = (*keys)[i];
    if (!entry.is_object()) {
      set->skipped_.push_back("keys[" + std::to_string(i) + "]: not an object");
      continue;
    }
    const std::string name = entryName(i, entry);
    const auto skip = [&](const std::string& why) { set->skipped_.push_back(name + ": " + why); };

    if (const auto use = entry.find("use"); use != entry.end() && *use != "sig") {
      skip("use is not \"sig\"");
      continue;
    }
    if (const auto ops = entry.find("key_ops"); ops != entry.end()) {
      const bool verify =
          ops->is_array() &&
          std::any_of(ops->begin(), ops->end(), [](const auto& op) { return op == "verify"; });
      if (!verify) {
        skip("key_ops does not include \"verify\"");
        continue;
      }
    }
    const auto kid = entry.find("kid");
    if (kid == entry.end() || !kid->is_string() || kid->get_ref<const std::string&>().empty()) {
      // Tokens are matched to keys by kid only; a key without one could never be chosen.
      skip("no kid");
      continue;
    }
    const std::string& kid_text = kid->get_ref<const std::string&>();
    if (kid_text.size() > kMaxKidBytes) {
      skip("kid longer than " + std::to_string(kMaxKidBytes) + " bytes");
      continue;
    }
    std::optional<jose::Alg> alg;
    if (const auto a = entry.find("alg"); a != entry.end()) {
      if (!a->is_string() || !(alg = jose::algFromName(a->get_ref<const std::string&>()))) {
        skip("alg " + (a->is_string() ? "\"" + printable(a->get_ref<const std::string&>()) + "\""
                                      : std::string("(not a string)")) +
             " is not a supported signature algorithm");
        continue;
      }
    }
    const auto kty = entry.find("kty");
    if (kty == entry.end() || !kty->is_string() || (*kty != "RSA" && *kty != "EC")) {
      skip("kty is not RSA or EC");
      continue;
    }
    auto key = jose::readPublicJwk(entry);
    if (!key) {
      skip(key.error().message);
      continue;
    }
    if (alg && !jose::keyFitsAlg(key->get(), *alg)) {
      skip("the key does not fit its alg " + std::string(jose::algName(*alg)));
      continue;
    }
    // Two keys under one kid make the lookup ambiguous: which one verifies would depend on
    // order. The producer is broken, so the whole set is refused and the last good one kept.
    if (!kids.insert(kid_text).second) {
      return Error{"JWKS: duplicate kid \"" + printable(kid_text) + "\""};
    }
    auto thumbprint = jose::jwkThumbprint(key->get());
    if (!thumbprint) {
      skip(thumbprint.error().message);
      continue;
    }
    set->keys_.push_back(VerificationKey{kid_text, kty->get<std::string>(), alg,
                                         std::move(*thumbprint), std::move(*key)});
  }
  if (set->keys_.empty()) {
    std::string why = "JWKS has no usable signing key";
    if (!set->skipped_.empty()) why += " (" + set->skipped_.front() + ")";
    return Error{std::move(why)};
  }
  set->generation_ = next_generation.fetch_add(1);
  return std::shared_ptr<const KeySet>(std::move(set));
}

const VerificationKey* KeySet::find(std::string_view kid) const {
  // A handful of keys per issuer: a scan beats hashing the kid.
  for (const VerificationKey& key : keys_) {
    if (key.kid == kid) return &key;
  }
  return nullptr;
}

bool KeySet::sameKeys(const KeySet& other) const {
  if (keys_.size() != other.keys_.size()) return false;
  return std::all_of(keys_.begin(), keys_.end(), [&](const VerificationKey& key) {
    const VerificationKey* match = other.find(key.kid);
    return match != nullptr && match->thumbprint == key.thumbprint && match->alg == key.alg &&
           match->kty == key.kty;
  });
}

FixedKeySetProvider::FixedKeySetProvider(std::shared_ptr<const KeySet> keys) {
  set(std::move(keys));
}

void FixedKeySetProvider::set(std::shared_ptr<const KeySet> keys) {
  const std::uint64_t generation = keys ? keys->generation() : 0;
  keys_.store(std::move(keys));
  generation_.store(generation);
}

}  // namespace warden::token
