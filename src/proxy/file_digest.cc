#include "proxy/file_digest.h"

#include <openssl/evp.h>

#include <fstream>
#include <iterator>

namespace warden::proxy {

std::string digestFiles(const std::vector<std::string>& paths) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    std::string data = in ? std::string(std::istreambuf_iterator<char>(in), {}) : "missing:" + path;
    EVP_DigestUpdate(md, path.data(), path.size());
    EVP_DigestUpdate(md, "\0", 1);
    EVP_DigestUpdate(md, data.data(), data.size());
    EVP_DigestUpdate(md, "\0", 1);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md, digest, &len);
  EVP_MD_CTX_free(md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

}  // namespace warden::proxy
