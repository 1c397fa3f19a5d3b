// `warden sample-agent --name NAME --role backend|agent --listen 127.0.0.1:PORT
//  [--egress 127.0.0.1:PORT]`: one of the demo mesh's sample apps (demo/sample_agent.h),
// run in the foreground until SIGINT or SIGTERM.
#pragma once

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace warden::cli {

class SampleAgentCommand {
 public:
  // Adds the subcommand to `app` (which must outlive this object).
  explicit SampleAgentCommand(CLI::App& app);
  SampleAgentCommand(const SampleAgentCommand&) = delete;
  SampleAgentCommand& operator=(const SampleAgentCommand&) = delete;

  // After app.parse(): the exit code of `sample-agent` when the command line chose it,
  // else nullopt.
  std::optional<int> run() const;

 private:
  CLI::App* command_ = nullptr;
  std::string name_;
  std::string role_;
  std::string listen_;
  std::string egress_;
};

}  // namespace warden::cli
