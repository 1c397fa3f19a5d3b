// A stand-in for libFuzzer's main() in ordinary (non-clang, non-fuzzing) builds: replays
// every file named on the command line, or found in a directory named there, through
// LLVMFuzzerTestOneInput. This is how the seed corpora run as CTest cases under g++.
//
// An invariant violation inside a target aborts (or traps) the process; the signal
// handler below names the input being replayed before the process dies, so a failing CI
// log says which corpus file to look at. An exception escaping the target (which the
// targets never allow: errors are values) is counted as a failure and the run goes on.
// Thread-safety: single-threaded program.
#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

// The file being replayed, for the signal handler (a plain array: async-signal-safe).
char g_current[4096] = "";

void onFatalSignal(int sig) {
  constexpr char kPrefix[] = "\nfuzz corpus driver: fatal signal while running ";
  // write() is async-signal-safe; its result is irrelevant while dying.
  [[maybe_unused]] ssize_t n = write(STDERR_FILENO, kPrefix, sizeof(kPrefix) - 1);
  n = write(STDERR_FILENO, g_current, std::strlen(g_current));
  n = write(STDERR_FILENO, "\n", 1);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

bool readFile(const std::filesystem::path& path, std::vector<std::uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  for (const int sig : {SIGABRT, SIGSEGV, SIGILL, SIGBUS, SIGFPE}) {
    std::signal(sig, onFatalSignal);
  }

  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) inputs.push_back(entry.path());
      }
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "fuzz corpus driver: no such file or directory: %s\n", argv[i]);
      return 2;
    }
    if (ec) {
      std::fprintf(stderr, "fuzz corpus driver: cannot read %s: %s\n", argv[i],
                   ec.message().c_str());
      return 2;
    }
  }
  // Sorted, so every run (and every machine) replays in the same order.
  std::sort(inputs.begin(), inputs.end());
  if (inputs.empty()) {
    std::fprintf(stderr, "fuzz corpus driver: no inputs (usage: %s DIR_OR_FILE...)\n", argv[0]);
    return 2;
  }

  std::size_t passed = 0;
  std::size_t failed = 0;
  std::vector<std::uint8_t> bytes;
  for (const std::filesystem::path& path : inputs) {
    const std::string name = path.string();
    const std::size_t n = std::min(name.size(), sizeof(g_current) - 1);
    std::memcpy(g_current, name.data(), n);
    g_current[n] = '\0';
    if (!readFile(path, bytes)) {
      std::fprintf(stderr, "FAILED %s: cannot read\n", name.c_str());
      ++failed;
      continue;
    }
    try {
      // libFuzzer never passes a null pointer, even for an empty input; neither do we.
      static const std::uint8_t kEmpty = 0;
      LLVMFuzzerTestOneInput(bytes.empty() ? &kEmpty : bytes.data(), bytes.size());
      ++passed;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "FAILED %s: exception escaped: %s\n", name.c_str(), e.what());
      ++failed;
    } catch (...) {
      std::fprintf(stderr, "FAILED %s: non-standard exception escaped\n", name.c_str());
      ++failed;
    }
  }
  std::printf("%zu passed, %zu failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
