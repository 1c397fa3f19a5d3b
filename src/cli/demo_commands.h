// `warden up` (start a demo mesh from its mesh file and supervise it until Ctrl-C) and
// `warden matrix` (run the enforcement matrix against it). docs/demo.md.
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace warden::cli {

class DemoCommands {
 public:
  explicit DemoCommands(CLI::App& app);  // `app` must outlive this object
  ~DemoCommands();
  DemoCommands(const DemoCommands&) = delete;
  DemoCommands& operator=(const DemoCommands&) = delete;

  // After app.parse(): the chosen command's exit code, or nullopt for another command.
  std::optional<int> run();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::cli
