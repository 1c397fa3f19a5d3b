// Content digests of files, used to notice that configuration or credentials changed on
// disk (rotation by rename, in-place rewrite, or Kubernetes' symlink swap all change the
// content, whatever happens to mtimes). Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

namespace warden::proxy {

// Hex SHA-256 over the files' contents in order (a missing file hashes as its name, so
// it differs from any content and from its later reappearance).
std::string digestFiles(const std::vector<std::string>& paths);
// Hex SHA-256 of `text` (credentials that arrive in memory rather than in files).
std::string digestText(const std::string& text);

}  // namespace warden::proxy
