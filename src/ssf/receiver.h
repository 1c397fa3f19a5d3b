// The receiving end of RFC 8935 push delivery: one HTTP POST holding one SET in, one
// response (status and body) and the event to apply out. The HTTP server around it lives
// elsewhere and calls receive() with the request's Content-Type, Authorization and body.
//
// In order:
//   1. Content-Type must be application/secevent+jwt (parameters ignored, case-insensitive)
//      -> 400 invalid_request.
//   2. Authorization, before the SET is looked at, when any transmitter has a push
//      credential (the stream's delivery.authorization_header, identity-standards §9.3):
//      a header matching no transmitter's credential, or none when every transmitter needs
//      one -> 400 authentication_failed.
//   3. SetVerifier::verify -> 400 with its code (set_error.h).
//   4. the SET's issuer has a credential: no header -> 400 authentication_failed; the
//      header of another transmitter -> 400 access_denied (§10.6 S2).
//   5. an SSF verification event, when a state check is configured: a state the receiver
//      did not ask for -> 400 invalid_state (§10.6 S4). Checked before step 6 so that a
//      refused SET does not use up its jti.
//   6. (iss, jti) recorded in the JtiLedger, only now that the SET verified (a forgery must
//      never occupy a jti): already there -> 202, disposition kDuplicate, nothing to apply.
//      A duplicate is what a transmitter retrying after a lost 202 sends; answering 400
//      would make it retry or drop a stream that works. §10.6 S3: "a duplicate jti -> 202
//      and idempotent (no double action)".
//   7. an event type Warden does not act on -> 202, kIgnored (§10.6 S3); otherwise 202,
//      kAccepted with the event for the caller to apply.
// A 202 has an empty body (RFC 8935 §2.2); a 400 has the §2.4 JSON body.
// Thread-safety: receive() is const and may be called concurrently when the ledger and the
// verification-state callback allow it (JtiLedger implementations must).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ssf/jti_ledger.h"
#include "ssf/security_event.h"
#include "ssf/set_error.h"
#include "ssf/set_verifier.h"

namespace warden::ssf {

inline constexpr std::string_view kSetContentType = "application/secevent+jwt";
inline constexpr std::string_view kErrorContentType = "application/json";

struct PushRequest {
  std::string_view content_type;                  // the Content-Type header value
  std::optional<std::string_view> authorization;  // the Authorization header value, if sent
  std::string_view body;
};

enum class Disposition : std::uint8_t {
  kAccepted,   // 202: apply `event`
  kDuplicate,  // 202: (iss, jti) seen before; do nothing
  kIgnored,    // 202: verified, but an event type Warden does not act on
  kRejected,   // 400: `error` says why
};
std::string_view dispositionName(Disposition disposition);  // "accepted", ...

struct ReceiveOutcome {
  int http_status = 400;
  Disposition disposition = Disposition::kRejected;
  std::optional<SecurityEvent> event;  // kAccepted and kIgnored
  std::optional<SetError> error;       // kRejected
  std::string body;                    // empty for 202; renderErrorBody() for 400
  // The SET's iss and jti once it verified (also for duplicates), for the audit log.
  std::string issuer;
  std::string jti;
};

struct ReceiverOptions {
  // issuer -> the exact Authorization header value its pushes carry. Issuers not listed
  // push without one.
  std::map<std::string, std::string, std::less<>> push_authorization;
  // Set while the stream client waits for a verification event: is `state` the one it
  // asked `issuer` to echo? Unset: verification events are accepted as they come.
  std::function<bool(std::string_view issuer, std::optional<std::string_view> state)>
      verification_state_matches;
};

class SsfReceiver {
 public:
  // Fails when the verifier or ledger is missing, or a push credential is empty or names
  // an issuer the verifier does not know.
  static Result<std::unique_ptr<const SsfReceiver>> create(
      std::shared_ptr<const SetVerifier> verifier, std::shared_ptr<JtiLedger> ledger,
      ReceiverOptions options = {});

  ReceiveOutcome receive(const PushRequest& request,
                         std::chrono::system_clock::time_point now) const;
  // The same without an Authorization header.
  ReceiveOutcome receive(std::string_view content_type, std::string_view body,
                         std::chrono::system_clock::time_point now) const;

 private:
  SsfReceiver() = default;

  std::shared_ptr<const SetVerifier> verifier_;
  std::shared_ptr<JtiLedger> ledger_;
  ReceiverOptions options_;
  bool every_issuer_authenticates_ = false;
};

}  // namespace warden::ssf
