#include "issuer/attestation.h"

#include <grp.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/hex.h"

namespace warden::issuer {
namespace {

std::string executablePath(pid_t pid) {
  std::array<char, 4096> buf{};
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  const ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size() - 1);
  if (n <= 0) return {};
  std::string path(buf.data(), static_cast<std::size_t>(n));
  // The kernel marks an unlinked executable; its path no longer names what runs.
  if (path.ends_with(" (deleted)")) return {};
  return path;
}

std::string sha256OfFile(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::array<char, 64 * 1024> buf{};
  std::size_t total = 0;
  while (in) {
    in.read(buf.data(), buf.size());
    const auto n = static_cast<std::size_t>(in.gcount());
    total += n;
    if (total > limit) {
      EVP_MD_CTX_free(ctx);
      return {};
    }
    EVP_DigestUpdate(ctx, buf.data(), n);
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md.data(), &len);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  appendHex(hex, md.data(), len);
  return hex;
}

}  // namespace

Result<PeerCredentials> peerCredentials(int socket_fd) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Error{std::string("SO_PEERCRED: ") + std::strerror(errno)};
  }
  if (cred.pid <= 0) return Error{"SO_PEERCRED gave no pid"};
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

std::vector<std::string> attestUnix(const PeerCredentials& peer, const AttestOptions& options) {
  std::vector<std::string> out;
  out.push_back("unix:uid:" + std::to_string(peer.uid));
  out.push_back("unix:gid:" + std::to_string(peer.gid));
  std::array<char, 4096> buf{};
  struct passwd pw {};
  struct passwd* pw_result = nullptr;
  if (::getpwuid_r(peer.uid, &pw, buf.data(), buf.size(), &pw_result) == 0 && pw_result) {
    out.push_back(std::string("unix:user:") + pw.pw_name);
  }
  struct group gr {};
  struct group* gr_result = nullptr;
  if (::getgrgid_r(peer.gid, &gr, buf.data(), buf.size(), &gr_result) == 0 && gr_result) {
    out.push_back(std::string("unix:group:") + gr.gr_name);
  }
  const std::string exe = executablePath(peer.pid);
  if (!exe.empty()) {
    out.push_back("unix:path:" + exe);
    if (options.hash_executable) {
      // Read through /proc so the hash is of the very file the process runs, even if the
      // path was replaced since it started.
      const std::string digest =
          sha256OfFile("/proc/" + std::to_string(peer.pid) + "/exe", options.max_executable_bytes);
      if (!digest.empty()) out.push_back("unix:sha256:" + digest);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace warden::issuer
