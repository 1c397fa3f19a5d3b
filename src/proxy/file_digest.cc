#include "proxy/file_digest.h"

#include <openssl/evp.h>

#include <fstream>
#include <iterator>

#include "common/hex.h"

namespace warden::proxy {

namespace {
std::string finish(EVP_MD_CTX* md) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md, digest, &len);
  EVP_MD_CTX_free(md);
  std::string out;
  appendHex(out, digest, len);
  return out;
}
}  // namespace

std::string digestText(const std::string& text) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  EVP_DigestUpdate(md, text.data(), text.size());
  return finish(md);
}

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
  return finish(md);
}

}  // namespace warden::proxy
