#include "demo/process_group.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace warden::demo {

ProcessGroup::~ProcessGroup() { stopAll(std::chrono::seconds(5)); }

Result<std::size_t> ProcessGroup::start(const std::string& name, std::vector<std::string> argv,
                                        const std::string& log_path) {
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) return Error{"cannot open " + log_path + ": " + std::strerror(errno)};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    return Error{"fork: " + std::string(std::strerror(errno))};
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null_in = ::open("/dev/null", O_RDONLY);
    if (null_in >= 0) ::dup2(null_in, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execv(args[0], args.data());
    const char msg[] = "warden up: exec failed\n";
    (void)!::write(2, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::close(log);
  // Also from the parent: no window in which a signal to the group misses the child.
  ::setpgid(pid, pid);
  children_.push_back(Child{name, std::move(argv), log_path, pid, std::nullopt});
  return children_.size() - 1;
}

std::vector<std::size_t> ProcessGroup::reap() {
  std::vector<std::size_t> ended;
  for (std::size_t i = 0; i < children_.size(); ++i) {
    auto& c = children_[i];
    if (c.pid <= 0 || c.exit_status) continue;
    int status = 0;
    const pid_t r = ::waitpid(c.pid, &status, WNOHANG);
    if (r == c.pid) {
      c.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      ended.push_back(i);
    }
  }
  return ended;
}

void ProcessGroup::stopAll(std::chrono::milliseconds grace) {
  reap();
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    if (it->pid > 0 && !it->exit_status) ::kill(-it->pid, SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  auto anyRunning = [&] {
    for (const auto& c : children_) {
      if (c.pid > 0 && !c.exit_status) return true;
    }
    return false;
  };
  while (anyRunning() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reap();
  }
  for (auto& c : children_) {
    if (c.pid > 0 && !c.exit_status) {
      ::kill(-c.pid, SIGKILL);
      int status = 0;
      ::waitpid(c.pid, &status, 0);
      c.exit_status = 128 + SIGKILL;
    }
  }
}

std::string readLogFrom(const std::string& path, std::size_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(offset));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace warden::demo
