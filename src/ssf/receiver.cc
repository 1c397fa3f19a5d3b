#include "ssf/receiver.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "ssf/claim_reading.h"

namespace warden::ssf {
namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

// RFC 9110 §8.3.1: type and subtype compare case-insensitively; parameters (a charset,
// say) do not change what the body is.
bool isSetContentType(std::string_view value) {
  const std::string_view media = trim(value.substr(0, value.find(';')));
  return detail::lower(media) == kSetContentType;
}

// Constant-time for equal lengths: the credential is a bearer secret.
bool sameCredential(std::string_view expected, std::string_view presented) {
  return expected.size() == presented.size() &&
         CRYPTO_memcmp(expected.data(), presented.data(), expected.size()) == 0;
}

ReceiveOutcome reject(SetErrorCode code, std::string description) {
  ReceiveOutcome out;
  out.http_status = 400;
  out.disposition = Disposition::kRejected;
  out.error = SetError{code, std::move(description)};
  out.body = renderErrorBody(*out.error);
  return out;
}

}  // namespace

std::string_view dispositionName(Disposition disposition) {
  switch (disposition) {
    case Disposition::kAccepted:
      return "accepted";
    case Disposition::kDuplicate:
      return "duplicate";
    case Disposition::kIgnored:
      return "ignored";
    case Disposition::kRejected:
      return "rejected";
  }
  return "rejected";
}

Result<std::unique_ptr<const SsfReceiver>> SsfReceiver::create(
    std::shared_ptr<const SetVerifier> verifier, std::shared_ptr<JtiLedger> ledger,
    ReceiverOptions options) {
  if (verifier == nullptr) return Error{"ssf receiver: no SET verifier"};
  if (ledger == nullptr) return Error{"ssf receiver: no jti ledger"};
  for (const auto& [issuer, credential] : options.push_authorization) {
    if (!verifier->knowsIssuer(issuer)) {
      return Error{"ssf receiver: push_authorization names \"" + issuer +
                   "\", which is not a configured transmitter"};
    }
    if (trim(credential).empty()) {
      return Error{"ssf receiver: push_authorization for \"" + issuer + "\" is empty"};
    }
  }
  std::unique_ptr<SsfReceiver> receiver(new SsfReceiver());
  const std::vector<std::string> issuers = verifier->issuers();
  receiver->every_issuer_authenticates_ =
      std::all_of(issuers.begin(), issuers.end(), [&](const std::string& issuer) {
        return options.push_authorization.count(issuer) != 0;
      });
  // Compared after trimming, as the presented value will be (header framing's whitespace).
  for (auto& entry : options.push_authorization) entry.second = std::string(trim(entry.second));
  receiver->verifier_ = std::move(verifier);
  receiver->ledger_ = std::move(ledger);
  receiver->options_ = std::move(options);
  return std::unique_ptr<const SsfReceiver>(std::move(receiver));
}

ReceiveOutcome SsfReceiver::receive(std::string_view content_type, std::string_view body,
                                    std::chrono::system_clock::time_point now) const {
  return receive(PushRequest{content_type, std::nullopt, body}, now);
}

ReceiveOutcome SsfReceiver::receive(const PushRequest& request,
                                    std::chrono::system_clock::time_point now) const {
  if (!isSetContentType(request.content_type)) {
    return reject(SetErrorCode::kInvalidRequest,
                  "Content-Type must be application/secevent+jwt (RFC 8935 §2.1)");
  }

  // Who is pushing, before anything of theirs is parsed.
  const auto& credentials = options_.push_authorization;
  const std::optional<std::string_view> presented =
      request.authorization ? std::optional(trim(*request.authorization)) : std::nullopt;
  if (!credentials.empty()) {
    if (presented) {
      const bool known = std::any_of(credentials.begin(), credentials.end(), [&](const auto& c) {
        return sameCredential(c.second, *presented);
      });
      if (!known) {
        return reject(SetErrorCode::kAuthenticationFailed,
                      "the Authorization header does not authenticate a transmitter");
      }
    } else if (every_issuer_authenticates_) {
      return reject(SetErrorCode::kAuthenticationFailed, "an Authorization header is required");
    }
  }

  VerifyResult verified = verifier_->verify(trim(request.body), now);
  if (!verified) return reject(verified.error().err, verified.error().description);
  SecurityEvent event = std::move(verified).value();

  if (const auto it = credentials.find(event.issuer); it != credentials.end()) {
    if (!presented) {
      return reject(SetErrorCode::kAuthenticationFailed,
                    "an Authorization header is required for this transmitter");
    }
    if (!sameCredential(it->second, *presented)) {
      return reject(SetErrorCode::kAccessDenied,
                    "the Authorization header is not that of the SET's issuer");
    }
  }

  if (event.kind == EventKind::kVerification && options_.verification_state_matches) {
    std::optional<std::string_view> state;
    if (event.verification && event.verification->state) state = *event.verification->state;
    if (!options_.verification_state_matches(event.issuer, state)) {
      return reject(SetErrorCode::kInvalidState,
                    "the verification event's state is not the one requested");
    }
  }

  ReceiveOutcome out;
  out.http_status = 202;
  out.issuer = event.issuer;
  out.jti = event.jti;
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (!ledger_->remember(event.issuer, event.jti, now_s)) {
    out.disposition = Disposition::kDuplicate;
    return out;
  }
  out.disposition =
      event.kind == EventKind::kUnknown ? Disposition::kIgnored : Disposition::kAccepted;
  out.event = std::move(event);
  return out;
}

}  // namespace warden::ssf
