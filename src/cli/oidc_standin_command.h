// `warden oidc-standin`: the demo mesh's local stand-in for GitHub Actions' OIDC issuer
// (src/demo/oidc_standin.h). Usage errors exit 2, like every other subcommand.
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace warden::cli {

class OidcStandinCommand {
 public:
  // Adds the subcommand to `app` (which must outlive this object).
  explicit OidcStandinCommand(CLI::App& app);
  ~OidcStandinCommand();
  OidcStandinCommand(const OidcStandinCommand&) = delete;
  OidcStandinCommand& operator=(const OidcStandinCommand&) = delete;

  // After app.parse(): the exit code when the command line chose `oidc-standin` (it runs
  // until SIGINT/SIGTERM), else nullopt.
  std::optional<int> run();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::cli
