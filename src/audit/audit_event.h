// One audit record: a request decision or a refused handshake (ARCHITECTURE.md §4).
//
// Fields that do not exist yet at this stage (token facts, risk, tags) are added by the
// issues that introduce those layers. Never put secrets here: no tokens, no keys.
// Thread-safety: plain value; moved from the worker to the audit thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/token_facts.h"

namespace warden::audit {

enum class EventKind : std::uint8_t { kRequest, kHandshake };
enum class Direction : std::uint8_t { kIngress, kEgress };

struct AuditEvent {
  EventKind kind = EventKind::kRequest;
  Direction direction = Direction::kIngress;
  std::int64_t time_unix_us = 0;      // when the request/handshake started
  std::string request_id;             // empty for handshakes
  std::string trace_id;               // W3C traceparent trace-id if the client sent one
  bool allowed = false;
  std::string layer;                  // policy::toString(Layer)
  std::string reason;                 // stable reason code
  int status = 0;                     // HTTP status sent to the client (0: none, e.g. handshake)
  std::string caller_id;              // verified SPIFFE ID ("" if none could be established)
  std::string target_id;              // this workload's SPIFFE ID (ingress) or the route's (egress)
  std::string method;
  std::string path;                   // normalised path (raw target if it failed normalisation)
  std::string policy_version;
  std::string rule_id;
  std::string source_address;         // "ip:port"
  std::uint64_t connection_id = 0;
  std::uint32_t decision_latency_us = 0;
  int upstream_status = 0;            // 0 if never forwarded
  std::uint64_t bytes_in = 0;         // request body bytes relayed
  std::uint64_t bytes_out = 0;        // response body bytes relayed
  std::uint64_t duration_us = 0;      // whole exchange
  std::string detail;                 // operator-facing detail (never sent to clients)
  // Layer 3 facts (ARCHITECTURE.md §4): never the token itself.
  bool token_present = false;
  // Set when the token verified (also when binding or roles then failed). Shared with
  // the verified, usually cached, token: immutable, and no per-request copies.
  std::shared_ptr<const TokenFacts> token;
  // Layers 4a/4b facts about the caller as governance saw them (empty: not governed).
  std::string caller_name;            // registry name of the caller agent
  std::string caller_risk;            // none, low, medium, high; "unknown" if unregistered
  std::string caller_state;           // enabled, disabled, quarantined
  std::string caller_tags;            // "key=value,key=value" (sorted by key)
  std::string governance_version;
};

// Renders one JSON object on a single line (no trailing newline).
std::string toJsonLine(const AuditEvent& event);
// The same, appended to `out`: the writer renders a whole batch into one reused buffer.
void appendJsonLine(std::string& out, const AuditEvent& event);

}  // namespace warden::audit
