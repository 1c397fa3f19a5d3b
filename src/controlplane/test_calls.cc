#include "controlplane/test_calls.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>

#include "common/hex.h"

namespace warden::controlplane {

namespace {

std::string randomCallId() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    std::abort();  // no entropy: nothing is safe
  std::string out;
  appendHex(out, bytes, sizeof(bytes));
  return out;
}

}  // namespace

nlohmann::json testCallToJson(const TestCall& call) {
  nlohmann::json j{
      {"id", call.id}, {"target", call.target_id}, {"method", call.method}, {"path", call.path}};
  if (!call.body.empty()) {
    j["body"] = call.body;
    j["content_type"] = call.content_type;
  }
  return j;
}

bool TestCallBroker::submit(TestCall& call) {
  const auto waiting = std::count_if(calls_.begin(), calls_.end(), [&](const auto& kv) {
    return kv.second.call.caller_id == call.caller_id && !kv.second.result;
  });
  if (static_cast<std::size_t>(waiting) >= kMaxPendingTestCallsPerCaller)
    return false;
  do {
    call.id = randomCallId();
  } while (calls_.contains(call.id));
  calls_.emplace(call.id, Entry{call, next_order_++, false, std::nullopt});
  queued_.notifyAll();
  return true;
}

std::vector<TestCall> TestCallBroker::take(const std::string& caller_id) {
  std::vector<Entry*> ready;
  for (auto& [id, e] : calls_) {
    if (!e.picked_up && e.call.caller_id == caller_id)
      ready.push_back(&e);
  }
  std::sort(ready.begin(), ready.end(),
            [](const Entry* a, const Entry* b) { return a->order < b->order; });
  std::vector<TestCall> out;
  out.reserve(ready.size());
  for (Entry* e : ready) {
    e->picked_up = true;
    out.push_back(e->call);
  }
  return out;
}

TestCallBroker::Answered TestCallBroker::answer(const std::string& caller_id, const std::string& id,
                                                nlohmann::json result) {
  auto it = calls_.find(id);
  // Another caller's call reads as unknown: a sidecar learns nothing of calls not its own.
  if (it == calls_.end() || it->second.call.caller_id != caller_id)
    return Answered::kUnknown;
  if (!it->second.picked_up)
    return Answered::kNotPickedUp;
  if (it->second.result)
    return Answered::kAlreadyAnswered;
  it->second.result = std::move(result);
  answered_.notifyAll();
  return Answered::kAccepted;
}

bool TestCallBroker::pickedUp(const std::string& id) const {
  auto it = calls_.find(id);
  return it != calls_.end() && it->second.picked_up;
}

const nlohmann::json* TestCallBroker::result(const std::string& id) const {
  auto it = calls_.find(id);
  return it != calls_.end() && it->second.result ? &*it->second.result : nullptr;
}

void TestCallBroker::forget(const std::string& id) {
  calls_.erase(id);
}

}  // namespace warden::controlplane
