#include "demo/atomic_file.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/hex.h"

namespace warden::demo {

namespace {

std::string errnoText() {
  return std::strerror(errno);
}

}  // namespace

Status writeFileAtomically(const std::string& path, const std::string& data, mode_t mode) {
  unsigned char nonce[8];
  if (RAND_bytes(nonce, sizeof(nonce)) != 1)
    return Error{path + ": no randomness for a temporary name"};
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-";
  appendHex(tmp, nonce, sizeof(nonce));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return Error{"cannot create " + tmp + ": " + errnoText()};
  std::string failure;
  // The umask could only narrow the mode; fchmod makes a certificate meant to be 0644 so.
  if (::fchmod(fd, mode) != 0)
    failure = "chmod: " + errnoText();
  std::size_t done = 0;
  while (failure.empty() && done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      failure = "write: " + errnoText();
    else
      done += static_cast<std::size_t>(n);
  }
  if (failure.empty() && ::fsync(fd) != 0)
    failure = "fsync: " + errnoText();
  if (::close(fd) != 0 && failure.empty())
    failure = "close: " + errnoText();
  if (failure.empty() && ::rename(tmp.c_str(), path.c_str()) != 0)
    failure = "rename: " + errnoText();
  if (!failure.empty()) {
    ::unlink(tmp.c_str());
    return Error{path + ": " + failure};
  }
  return Status::okStatus();
}

Result<std::string> readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error{"cannot read " + path + ": " + errnoText()};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return Error{"cannot read " + path};
  return text.str();
}

}  // namespace warden::demo
