// `warden`'s commands that talk to the control plane's REST API (docs/cli.md):
//   warden login        a bearer token from the server's login, stored for later commands
//   warden agents       list, get, create, update, delete, history, isolate, restore-access, tags
//   warden risk set     warden state set
//   warden policy       validate (offline unless --server), get, diff, apply, history,
//                       rollback, explain
//   warden governance   the same for the admin governance documents (no explain)
//   warden audit        query, tail (live), export
// Output: tables by default, --json for the server's JSON. Errors: one line
// `warden: <what>: <why>` on stderr, exit code 1; usage errors (including missing
// connection settings) exit 2.
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace warden::cli {

class AdminCommands {
 public:
  // Adds the subcommands above to `app` (which must outlive this object).
  explicit AdminCommands(CLI::App& app);
  ~AdminCommands();
  AdminCommands(const AdminCommands&) = delete;
  AdminCommands& operator=(const AdminCommands&) = delete;

  // After app.parse(): the exit code of the admin command that was chosen, or nullopt
  // when the command line chose another subcommand.
  std::optional<int> run();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::cli
