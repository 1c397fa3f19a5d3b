#include "issuer/issuer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "common/https_url.h"

namespace warden::issuer {

Result<std::unique_ptr<Issuer>> Issuer::create(IssuerOptions options,
                                               std::vector<RegistrationEntry> entries) {
  if (auto st = validateEntries(entries, options.trust_domain); !st) return st.error();
  if (!options.jwt_issuer.empty()) {
    if (auto st = validateIssuerUrl(options.jwt_issuer); !st) {
      return Error{"jwt_issuer \"" + options.jwt_issuer + "\": " + st.message()};
    }
  }
  std::unique_ptr<Issuer> issuer(new Issuer(std::move(options)));
  const auto& o = issuer->options_;
  auto x509 = X509Authority::open({o.trust_domain, o.state_dir, o.ca_ttl});
  if (!x509) return x509.error();
  issuer->x509_ = std::move(*x509);
  std::chrono::seconds max_jwt_ttl{1};
  for (const auto& e : entries) max_jwt_ttl = std::max(max_jwt_ttl, e.jwt_ttl);
  JwtAuthorityOptions jwt_options;
  jwt_options.trust_domain = o.trust_domain;
  jwt_options.state_dir = o.state_dir;
  jwt_options.key_ttl = o.jwt_key_ttl;
  jwt_options.max_token_ttl = std::max(max_jwt_ttl, std::chrono::seconds(3600));
  jwt_options.key_type = o.jwt_key_type;
  jwt_options.issuer = o.jwt_issuer;
  auto jwt = JwtAuthority::open(std::move(jwt_options));
  if (!jwt) return jwt.error();
  issuer->jwt_ = std::move(*jwt);
  for (auto& e : entries) {
    issuer->entries_.push_back(std::make_shared<const RegistrationEntry>(std::move(e)));
  }
  return issuer;
}

Issuer::~Issuer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (rotation_thread_.joinable()) rotation_thread_.join();
}

void Issuer::start() {
  std::lock_guard lock(mutex_);
  if (rotation_thread_.joinable()) return;
  rotation_thread_ = std::thread([this] {
    std::unique_lock guard(mutex_);
    while (!stopping_) {
      changed_.wait_for(guard, options_.tick);
      if (stopping_) break;
      guard.unlock();
      tick(std::time(nullptr));
      guard.lock();
    }
  });
}

void Issuer::bump() {
  ++generation_;
  changed_.notify_all();
}

std::vector<std::shared_ptr<const RegistrationEntry>> Issuer::entriesFor(
    const std::vector<std::string>& selectors, const std::string& socket_path) const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<const RegistrationEntry>> out;
  for (const auto& e : entries_) {
    // A per-workload socket grants only its own entry; the shared socket grants only
    // entries that are not bound to a socket (binding is exclusive).
    if (e->socket_path != socket_path) continue;
    if (selectorsMatch(*e, selectors)) out.push_back(e);
  }
  return out;
}

bool Issuer::needsExecutableHash() const {
  std::lock_guard lock(mutex_);
  return std::any_of(entries_.begin(), entries_.end(), [](const auto& e) {
    return std::any_of(e->selectors.begin(), e->selectors.end(),
                       [](const std::string& s) { return s.starts_with("unix:sha256:"); });
  });
}

Result<std::shared_ptr<const IssuedX509Svid>> Issuer::svidFor(const RegistrationEntry& entry) {
  // Caller holds mutex_.
  auto it = svids_.find(entry.name);
  if (it != svids_.end()) return it->second;
  auto svid = x509_->issue(entry.spiffe_id, entry.x509_ttl, entry.dns_names);
  if (!svid) return svid.error();
  auto shared = std::make_shared<const IssuedX509Svid>(std::move(*svid));
  svids_[entry.name] = shared;
  spdlog::info("issuer: minted X509-SVID {} for entry {} (expires in {}s)", entry.spiffe_id.str(),
               entry.name, shared->not_after - std::time(nullptr));
  return shared;
}

Result<X509State> Issuer::x509State(
    const std::vector<std::shared_ptr<const RegistrationEntry>>& entries) {
  X509State state;
  state.own_bundle = x509_->bundle();
  std::lock_guard lock(mutex_);
  std::set<std::string> federates;
  for (const auto& e : entries) {
    auto svid = svidFor(*e);
    if (!svid) return svid.error();
    state.svids.push_back({e, *svid});
    federates.insert(e->federates_with.begin(), e->federates_with.end());
  }
  for (const auto& td : federates) {
    if (auto it = federated_.find(td); it != federated_.end()) {
      state.federated[td] = it->second.x509_authorities;
    }
  }
  return state;
}

std::variant<std::vector<Issuer::JwtSvidOut>, IssuerError> Issuer::mintJwtSvids(
    const std::vector<std::shared_ptr<const RegistrationEntry>>& entries,
    const std::vector<std::string>& audiences, const std::string& spiffe_id) {
  if (audiences.empty() ||
      std::any_of(audiences.begin(), audiences.end(), [](const auto& a) { return a.empty(); })) {
    return IssuerError{IssuerErrorKind::kInvalidArgument, "audience must be specified"};
  }
  if (!spiffe_id.empty()) {
    if (auto id = identity::SpiffeId::parse(spiffe_id); !id) {
      return IssuerError{IssuerErrorKind::kInvalidArgument,
                         "invalid requested SPIFFE ID: " + id.error().message};
    }
  }
  std::vector<JwtSvidOut> out;
  for (const auto& e : entries) {
    if (!spiffe_id.empty() && e->spiffe_id.str() != spiffe_id) continue;
    auto minted = jwt_->mint(e->spiffe_id, audiences, e->jwt_ttl);
    if (!minted) return IssuerError{IssuerErrorKind::kInternal, minted.error().message};
    out.push_back({e->spiffe_id.str(), minted->token, e->hint});
  }
  if (out.empty()) {
    return IssuerError{IssuerErrorKind::kPermissionDenied,
                       spiffe_id.empty() ? "no identity issued"
                                         : "caller is not entitled to " + spiffe_id};
  }
  return out;
}

Result<identity::ValidatedJwtSvid> Issuer::validateJwtSvid(const std::string& audience,
                                                           const std::string& token) const {
  return identity::validateJwtSvid(token, jwtBundles(), {audience});
}

std::map<std::string, std::vector<X509Ref>> Issuer::x509Bundles() const {
  std::map<std::string, std::vector<X509Ref>> out;
  out[options_.trust_domain] = x509_->bundle();
  std::lock_guard lock(mutex_);
  for (const auto& [td, bundle] : federated_) out[td] = bundle.x509_authorities;
  return out;
}

std::map<std::string, identity::SpiffeBundle> Issuer::jwtBundles() const {
  std::map<std::string, identity::SpiffeBundle> out;
  identity::SpiffeBundle own;
  own.trust_domain = options_.trust_domain;
  own.jwt_authorities = jwt_->publishedKeys();
  out[options_.trust_domain] = std::move(own);
  std::lock_guard lock(mutex_);
  for (const auto& [td, bundle] : federated_) {
    identity::SpiffeBundle jwt_only;
    jwt_only.trust_domain = td;
    jwt_only.jwt_authorities = bundle.jwt_authorities;
    out[td] = std::move(jwt_only);
  }
  return out;
}

identity::SpiffeBundle Issuer::ownBundle() const {
  identity::SpiffeBundle b;
  b.trust_domain = options_.trust_domain;
  b.x509_authorities = x509_->bundle();
  b.jwt_authorities = jwt_->publishedKeys();
  // Both authorities' sequences only increase, so their sum increases with every change.
  b.sequence = x509_->sequence() + jwt_->sequence();
  b.refresh_hint_seconds = options_.bundle_refresh_hint.count();
  return b;
}

void Issuer::replaceEntries(std::vector<RegistrationEntry> entries) {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<const RegistrationEntry>> next;
  for (auto& e : entries) next.push_back(std::make_shared<const RegistrationEntry>(std::move(e)));
  // Keep an SVID only if its entry still exists with the same identity and names.
  std::erase_if(svids_, [&](const auto& kv) {
    const auto it = std::find_if(next.begin(), next.end(),
                                 [&](const auto& e) { return e->name == kv.first; });
    if (it == next.end()) return true;
    const auto old = std::find_if(entries_.begin(), entries_.end(),
                                  [&](const auto& e) { return e->name == kv.first; });
    return old == entries_.end() || (*old)->spiffe_id != (*it)->spiffe_id ||
           (*old)->dns_names != (*it)->dns_names;
  });
  entries_ = std::move(next);
  bump();
}

void Issuer::setFederatedBundle(identity::SpiffeBundle bundle) {
  std::lock_guard lock(mutex_);
  const std::string td = bundle.trust_domain;
  spdlog::info("issuer: federated bundle for {} updated ({} X.509 CAs, {} JWT keys)", td,
               bundle.x509_authorities.size(), bundle.jwt_authorities.size());
  federated_[td] = std::move(bundle);
  bump();
}

void Issuer::removeFederatedBundle(const std::string& trust_domain) {
  std::lock_guard lock(mutex_);
  if (federated_.erase(trust_domain) > 0) bump();
}

void Issuer::tick(std::time_t now) {
  bool changed = false;
  if (auto r = x509_->rotate(now); !r) {
    spdlog::error("issuer: CA rotation failed: {}", r.error().message);
  } else if (*r) {
    spdlog::info("issuer: X.509 authorities rotated (bundle sequence {})", x509_->sequence());
    changed = true;
  }
  if (auto r = jwt_->rotate(now); !r) {
    spdlog::error("issuer: JWT key rotation failed: {}", r.error().message);
  } else if (*r) {
    spdlog::info("issuer: JWT keys rotated (active kid {})", jwt_->activeKid());
    changed = true;
  }
  std::lock_guard lock(mutex_);
  // Re-mint at half-life: the old SVID stays valid for the other half, so a workload that
  // misses one update still has time to get the next. Half of the lifetime from issuance:
  // the certificate's own validity starts 10 s early (backdating), so half of it would put
  // every SVID with a TTL under 10 s past its half-life at birth, re-minted on every tick.
  const auto before = svids_.size();
  std::erase_if(svids_, [&](const auto& kv) { return now >= kv.second->halfLife(); });
  changed = changed || svids_.size() != before;
  if (changed) bump();
}

Status Issuer::prepareRotation() {
  if (auto st = x509_->prepareNext(); !st) return st;
  if (auto st = jwt_->prepareNext(); !st) return st;
  std::lock_guard lock(mutex_);
  bump();
  return {};
}

Status Issuer::activateRotation() {
  if (auto st = x509_->activatePrepared(); !st) return st;
  if (auto st = jwt_->activatePrepared(); !st) return st;
  std::lock_guard lock(mutex_);
  svids_.clear();  // new SVIDs from the new CA
  bump();
  return {};
}

std::uint64_t Issuer::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

std::uint64_t Issuer::waitForChange(std::uint64_t seen,
                                    std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline, [&] { return generation_ != seen || stopping_; });
  return generation_;
}

}  // namespace warden::issuer
