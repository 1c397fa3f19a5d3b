// Test calls (docs/control-plane.md#test-calls): an administrator asks a caller's sidecar
// to send one real request through its own egress, so a What If verdict can be set beside
// what the mesh really does.
//
// The server never holds a caller's credentials and never speaks for it: the call waits
// here until the caller's own sidecar picks it up on its long-poll (mTLS with its SVID,
// GET /api/v1/sidecars/test-calls), sends it exactly as its app would, and posts the
// answer back (POST /api/v1/sidecars/test-calls/{id}). Only a sidecar configured with
// `control_plane.test_calls: true` polls; for any other the call expires unanswered.
//
// Calls live in memory only, bounded per caller; a call nobody picked up, or whose answer
// did not come, is forgotten by the request that made it.
// I/O thread only: no locking.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/change_waiters.h"

namespace warden::controlplane {

// How many calls may wait for one caller's sidecar at once.
inline constexpr std::size_t kMaxPendingTestCallsPerCaller = 8;
// The largest request body a test call may carry, and the most of the answer's body a
// sidecar sends back.
inline constexpr std::size_t kMaxTestCallBodyBytes = 64 * 1024;

struct TestCall {
  std::string id;
  std::string caller_id;  // SPIFFE ID of the caller whose sidecar sends it
  std::string target_id;  // SPIFFE ID the caller's egress route must expect
  std::string method;
  std::string path;
  std::string body;          // may be empty
  std::string content_type;  // with a body
};

// The call as the sidecar receives it (and parses with proxy::parseTestCall).
nlohmann::json testCallToJson(const TestCall& call);

class TestCallBroker {
 public:
  enum class Answered { kAccepted, kUnknown, kNotPickedUp, kAlreadyAnswered };

  // Queues `call` (its id is filled in, random); false when the caller already has
  // kMaxPendingTestCallsPerCaller calls waiting.
  bool submit(TestCall& call);
  // The calls waiting for this caller's sidecar, now handed to it (each only once).
  std::vector<TestCall> take(const std::string& caller_id);
  // The sidecar's answer. Only the caller the call was for may answer it, once, after
  // it took the call.
  Answered answer(const std::string& caller_id, const std::string& id, nlohmann::json result);

  bool pickedUp(const std::string& id) const;
  // The answer, once there is one.
  const nlohmann::json* result(const std::string& id) const;
  // Drops the call (the request that made it is done with it).
  void forget(const std::string& id);
  std::size_t size() const { return calls_.size(); }

  // Woken when a call is queued (sidecars' long-polls) and when one is answered.
  ChangeWaiters& queued() { return queued_; }
  ChangeWaiters& answered() { return answered_; }

 private:
  struct Entry {
    TestCall call;
    std::uint64_t order = 0;  // submission order, so a sidecar takes calls first come first
    bool picked_up = false;
    std::optional<nlohmann::json> result;
  };
  std::map<std::string, Entry> calls_;
  std::uint64_t next_order_ = 0;
  ChangeWaiters queued_;
  ChangeWaiters answered_;
};

}  // namespace warden::controlplane
