// A target's policy: parse -> validate -> compile -> evaluate (layers 1 and 2).
//
// parsePolicyYaml() turns text into PolicyConfig and reports the first problem as
// "<source>:<line>:<col>: <field.path>: <what is wrong>". compilePolicy() validates
// semantics (duplicate ids, bad SPIFFE IDs/patterns, unreachable configs) with the same
// message shape and builds an immutable PolicySnapshot. The server uses these very
// functions to validate what it will distribute.
//
// Evaluation (layer 2): the caller entry that applies is the most specific one: an exact
// ID entry, else the first pattern entry in file order that matches, else the first
// trust-domain entry that matches. Its rules are tried in order; the first rule whose
// method set and path match decides (allow or deny). No caller entry -> deny
// `no_caller_policy`; no rule -> deny `no_matching_rule`.
//
// Trust posture: files come from operators (validated strictly); evaluate() inputs come
// from the verified peer identity and a normalised path.
// Thread-safety: PolicySnapshot is immutable; evaluate() and allowsPeer() are const,
// lock-free and allocation-free, and can be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "identity/id_matcher.h"
#include "identity/spiffe_id.h"
#include "policy/decision.h"
#include "policy/policy_config.h"

namespace warden::policy {

Result<PolicyConfig> parsePolicyYaml(std::string_view yaml_text, std::string_view source_name);

class PolicySnapshot;
Result<std::shared_ptr<const PolicySnapshot>> compilePolicy(PolicyConfig config);

// Reads, parses and compiles a file in one step.
Result<std::shared_ptr<const PolicySnapshot>> loadPolicyFile(const std::string& path);

// HTTP methods as a bitmask; extension methods only match "*".
enum class Method : std::uint16_t {
  kGet = 1 << 0, kHead = 1 << 1, kPost = 1 << 2, kPut = 1 << 3, kDelete = 1 << 4,
  kPatch = 1 << 5, kOptions = 1 << 6, kConnect = 1 << 7, kTrace = 1 << 8, kOther = 1 << 9,
};
Method parseMethod(std::string_view token);  // case-sensitive per RFC 9110; kOther if unknown

// Checks shared by parsePolicyYaml() (which knows each element's line) and compilePolicy()
// (which also accepts configs that never were YAML). Messages carry no location.
// One entry of a rule's `methods`: a standard upper-case method or "*".
Status validateMethodToken(std::string_view token);
// A configured path for a matcher of `kind`: it must already be normalised (see
// docs/policy.md), since it is compared with normalised request paths.
Status validatePathMatch(PathMatchConfig::Kind kind, std::string_view value);
// One `token.client_ids` entry: a client id (RFC 6749 Appendix A.1: printable ASCII, at
// most 256 bytes here) and the SPIFFE ID it stands for.
Status validateTokenClientId(std::string_view client_id, std::string_view spiffe_id);

// The version a policy distributed by the control plane carries in audit events: its own
// `version` label (if any) and the store's version number, "seed-1@v7" or "v7". The
// server (explain) and the sidecar (views) must agree on it.
std::string distributedVersionLabel(std::string_view label, std::uint64_t stored_version);

// Layer 3 section checks (also used by the server before distributing a policy).
Status validateTokenPolicy(const TokenPolicyConfig& token);

class PolicySnapshot {
 public:
  struct CompiledRule;
  struct CompiledCaller;

  ~PolicySnapshot();
  const std::string& version() const { return config_.version; }
  const PolicyConfig& config() const { return config_; }

  // Layer 1: may this verified peer complete the handshake?
  bool allowsPeer(const identity::SpiffeId& peer) const;

  // Layer 2 on a normalised path.
  Decision evaluate(const identity::SpiffeId& caller, Method method,
                    std::string_view normalized_path) const;

 private:
  friend Result<std::shared_ptr<const PolicySnapshot>> compilePolicy(PolicyConfig config);
  PolicySnapshot() = default;
  PolicyConfig config_;
  std::vector<identity::IdMatcher> allow_;
  // Caller entries in evaluation order: exact IDs, then patterns, then trust domains, each
  // group in file order; the exact ones are also indexed by ID.
  std::vector<CompiledCaller> callers_;  // defined in the .cc
  std::unordered_map<std::string, std::size_t> exact_callers_;  // ID -> index in callers_
  std::size_t first_non_exact_ = 0;                             // index in callers_
};

}  // namespace warden::policy
