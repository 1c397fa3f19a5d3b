// Files the demo hands to other processes (keys, certificates, tokens a sidecar re-reads at
// each use): written whole or not at all, with their final mode from the first byte.
// Thread-safety: free functions; concurrent writers of one path each leave a whole file.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace warden::demo {

// Writes `data` to a fresh temporary file beside `path` (O_EXCL, created with `mode` and
// then set to exactly `mode` whatever the umask), syncs it and renames it over `path`: a
// reader sees the old or the new content, never a mix, and a secret is never briefly
// readable by others.
Status writeFileAtomically(const std::string& path, const std::string& data, mode_t mode);

Result<std::string> readWholeFile(const std::string& path);

}  // namespace warden::demo
