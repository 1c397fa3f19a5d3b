// Runs a real child process for tests: output captured to files, bounded waits, and the
// child killed by the destructor if it is still running. Only processes the test started.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace warden::testing {

class ChildProcess {
 public:
  // argv[0] is the program path. stdout and stderr go to files under `output_dir`.
  ChildProcess(std::vector<std::string> argv, const std::string& output_dir);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Exit code (or 128+signal), or nullopt if still running after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string out() const;
  std::string err() const;
  // Waits until stdout+stderr contain `needle`; false on timeout or exit.
  bool waitForOutput(const std::string& needle, std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_, err_path_;
};

// Runs to completion (bounded) and returns {exit code, stdout, stderr}.
struct RunResult {
  int code = -1;
  std::string out, err;
};
RunResult runToCompletion(std::vector<std::string> argv, const std::string& output_dir,
                          std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace warden::testing
