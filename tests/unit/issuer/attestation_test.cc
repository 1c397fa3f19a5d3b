// Unix attestation reads the kernel's view of the peer (SO_PEERCRED, /proc/<pid>/exe).
#include "issuer/attestation.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>

namespace warden::issuer {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(Attestation, PeerCredentialsComeFromTheKernel) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto creds = peerCredentials(fds[0]);
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(creds.ok()) << creds.error().message;
  EXPECT_EQ(creds->pid, ::getpid());
  EXPECT_EQ(creds->uid, ::getuid());
  EXPECT_EQ(creds->gid, ::getgid());
}

TEST(Attestation, PeerCredentialsOfANonSocketFail) {
  EXPECT_FALSE(peerCredentials(-1).ok());
}

TEST(Attestation, SelectorsNameUidGidAndExecutable) {
  const PeerCredentials self{::getpid(), ::getuid(), ::getgid()};
  std::array<char, 4096> exe{};
  const ssize_t n = ::readlink("/proc/self/exe", exe.data(), exe.size() - 1);
  ASSERT_GT(n, 0);
  const std::string path(exe.data(), static_cast<std::size_t>(n));

  const auto plain = attestUnix(self, {});
  EXPECT_TRUE(has(plain, "unix:uid:" + std::to_string(::getuid())));
  EXPECT_TRUE(has(plain, "unix:gid:" + std::to_string(::getgid())));
  EXPECT_TRUE(has(plain, "unix:path:" + path));
  EXPECT_TRUE(std::is_sorted(plain.begin(), plain.end()));
  EXPECT_FALSE(std::any_of(plain.begin(), plain.end(),
                           [](const auto& s) { return s.starts_with("unix:sha256:"); }));

  const auto hashed = attestUnix(self, {true});
  const auto it = std::find_if(hashed.begin(), hashed.end(),
                               [](const auto& s) { return s.starts_with("unix:sha256:"); });
  ASSERT_NE(it, hashed.end());
  // Cross-check with coreutils' sha256sum of the same file.
  FILE* p = ::popen(("sha256sum " + path).c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::array<char, 65> digest{};
  ASSERT_EQ(std::fread(digest.data(), 1, 64, p), 64u);
  ::pclose(p);
  EXPECT_EQ(*it, "unix:sha256:" + std::string(digest.data(), 64));
}

TEST(Attestation, AProcessThatIsGoneYieldsNoPathSelector) {
  const PeerCredentials gone{999999, 1, 1};
  const auto selectors = attestUnix(gone, {true});
  EXPECT_FALSE(std::any_of(selectors.begin(), selectors.end(),
                           [](const auto& s) { return s.starts_with("unix:path:"); }));
}

}  // namespace
}  // namespace warden::issuer
