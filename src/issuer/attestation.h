// Unix workload attestation: who is on the other end of a Workload API connection,
// according to the kernel, as SPIRE's unix workload attestor describes it.
//
// Trust posture: the caller takes no part; its pid/uid/gid come from SO_PEERCRED, taken at
// accept time while the caller is connecting (it cannot have exited and had its pid reused
// yet), and its executable from /proc/<pid>/exe. A selector that cannot be determined is
// left out, so it can never be matched by accident (fail closed).
// Thread-safety: pure functions.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace warden::issuer {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

Result<PeerCredentials> peerCredentials(int socket_fd);

struct AttestOptions {
  bool hash_executable = false;  // unix:sha256 costs a read of the whole binary
  std::size_t max_executable_bytes = 512u * 1024 * 1024;
};

// Sorted, unique selectors: unix:uid, unix:gid, unix:user, unix:group, unix:path, and
// unix:sha256 when asked for.
std::vector<std::string> attestUnix(const PeerCredentials& peer, const AttestOptions& options);

}  // namespace warden::issuer
