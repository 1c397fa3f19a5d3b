// The child processes of `warden up`: started with their output in a log file each, in
// their own process group (so a Ctrl-C in the terminal reaches `warden up` alone, which
// then stops them in reverse order), and with PR_SET_PDEATHSIG so that even a
// `warden up` killed with SIGKILL leaves no orphan behind.
// Thread-safety: one thread (the one that started the children: PR_SET_PDEATHSIG is tied
// to it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace warden::demo {

class ProcessGroup {
 public:
  struct Child {
    std::string name;
    std::vector<std::string> argv;
    std::string log_path;
    pid_t pid = -1;
    std::optional<int> exit_status;  // set once reaped: exit code, or 128 + signal
  };

  ProcessGroup() = default;
  ~ProcessGroup();  // stops whatever still runs
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  // Starts `argv` (argv[0] an absolute path) with stdin from /dev/null and stdout and
  // stderr appended to `log_path`. Returns the child's index.
  Result<std::size_t> start(const std::string& name, std::vector<std::string> argv, const std::string& log_path);

  // Reaps children that ended; returns the indexes of those that ended since the last call.
  std::vector<std::size_t> reap();

  // SIGTERM to every running child, newest first, then waits up to `grace` for all of
  // them; whatever still runs then gets SIGKILL.
  void stopAll(std::chrono::milliseconds grace);

  const Child& child(std::size_t i) const { return children_[i]; }
  std::size_t size() const { return children_.size(); }
  bool running(std::size_t i) const { return children_[i].pid > 0 && !children_[i].exit_status; }

 private:
  std::vector<Child> children_;
};

// The log file's content from `offset` on (empty when unreadable).
std::string readLogFrom(const std::string& path, std::size_t offset = 0);

}  // namespace warden::demo
