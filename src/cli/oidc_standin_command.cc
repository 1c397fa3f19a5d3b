#include "cli/oidc_standin_command.h"

#include <CLI/CLI.hpp>

#include <charconv>
#include <iostream>
#include <string>

#include "demo/local_web_pki.h"
#include "demo/oidc_standin.h"

namespace warden::cli {

namespace {

constexpr int kExitUsage = 2;

// `IP:PORT` with an IP literal (the listener binds nothing else), IPv6 in brackets.
bool parseListen(const std::string& text, std::string& host, std::uint16_t& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return false;
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned value = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last || value > 65535)
    return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

struct OidcStandinCommand::Impl {
  CLI::App* command = nullptr;
  demo::OidcStandinOptions options;
  std::string listen = "127.0.0.1:0";
  std::string pki_dir;
  long token_ttl_seconds = 300;
  long refresh_seconds = 60;
};

OidcStandinCommand::OidcStandinCommand(CLI::App& app) : impl_(std::make_unique<Impl>()) {
  auto& o = impl_->options;
  auto* c = app.add_subcommand("oidc-standin",
                               "Run a local stand-in for GitHub Actions' OIDC issuer (demo mesh)");
  impl_->command = c;
  c->add_option("--listen", impl_->listen, "IP:PORT to serve HTTPS on (port 0: any)")
      ->capture_default_str();
  auto* cert = c->add_option("--cert", o.cert_file,
                             "Server certificate (PEM, leaf first) naming the listen address");
  auto* key = c->add_option("--key", o.key_file, "Server private key (PEM)");
  c->add_option(
       "--pki-dir", impl_->pki_dir,
       "Make (or reuse) the demo's local Web PKI here and serve its server.pem; trust its ca.pem")
      ->excludes(cert)
      ->excludes(key);
  c->add_option("--issuer", o.issuer, "Issuer URL (default https://<listen address>)");
  c->add_option("--subject", o.subject, "The tokens' sub")->capture_default_str();
  c->add_option("--audience", o.audience, "The token file's aud, and /token's default")
      ->capture_default_str();
  c->add_option("--token-file", o.token_file, "Keep a fresh token in this file (0600)");
  c->add_option("--request-token-file", o.request_token_file,
                "Write the bearer token that /token requires to this file (0600)");
  c->add_option("--token-ttl-seconds", impl_->token_ttl_seconds, "Token lifetime")
      ->check(CLI::Range(1L, 86400L))
      ->capture_default_str();
  c->add_option("--refresh-seconds", impl_->refresh_seconds,
                "How often the token file is rewritten")
      ->check(CLI::Range(1L, 86400L))
      ->capture_default_str();
}

OidcStandinCommand::~OidcStandinCommand() = default;

std::optional<int> OidcStandinCommand::run() {
  if (!*impl_->command)
    return std::nullopt;
  auto& o = impl_->options;
  if (!parseListen(impl_->listen, o.host, o.port)) {
    std::cerr << "warden oidc-standin: --listen " << impl_->listen << ": expected IP:PORT\n";
    return kExitUsage;
  }
  if (!impl_->pki_dir.empty()) {
    auto pki = demo::makeLocalWebPki(impl_->pki_dir);
    if (!pki) {
      std::cerr << "warden oidc-standin: " << pki.error().message << "\n";
      return kExitUsage;
    }
    o.cert_file = pki->cert_file;
    o.key_file = pki->key_file;
  } else if (o.cert_file.empty() || o.key_file.empty()) {
    std::cerr << "warden oidc-standin: give --cert and --key, or --pki-dir\n";
    return kExitUsage;
  }
  o.token_ttl = std::chrono::seconds(impl_->token_ttl_seconds);
  o.refresh = std::chrono::seconds(impl_->refresh_seconds);
  return demo::runOidcStandin(o);
}

}  // namespace warden::cli
