#include "issuer/key_store.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace warden::issuer {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string drain(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string opensslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

std::string errnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

X509Ref adoptX509(X509* cert) { return X509Ref(cert, X509_free); }
PkeyRef adoptPkey(EVP_PKEY* key) { return PkeyRef(key, EVP_PKEY_free); }

Status ensurePrivateDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{"cannot create directory " + dir + ": " + ec.message()};
  if (::chmod(dir.c_str(), 0700) != 0) return Error{errnoText("cannot chmod", dir)};
  return {};
}

Status writeFileAtomically(const std::string& path, const std::string& text, unsigned mode) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                        static_cast<mode_t>(mode));
  if (fd < 0) return Error{errnoText("cannot create", tmp)};
  // open() honours the umask; the mode must be exact for key files.
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    ::close(fd);
    return Error{errnoText("cannot chmod", tmp)};
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return Error{errnoText("cannot write", tmp)};
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return Error{errnoText("cannot sync", tmp)};
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Error{errnoText("cannot rename", tmp)};
  return {};
}

Result<std::optional<std::string>> readOptionalFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>{};
    return Error{errnoText("cannot read", path)};
  }
  std::ostringstream out;
  out << in.rdbuf();
  return std::optional<std::string>{out.str()};
}

Status removeFileIfExists(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error{errnoText("cannot remove", path)};
  return {};
}

std::string privateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return drain(bio.get());
}

std::string privateKeyDer(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  i2d_PKCS8PrivateKey_bio(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return drain(bio.get());
}

std::string certificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return drain(bio.get());
}

std::string certificateDer(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

Result<PkeyRef> parsePrivateKeyPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return Error{"not a PEM private key: " + opensslError()};
  return adoptPkey(key);
}

Result<X509Ref> parseCertificatePem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) return Error{"not a PEM certificate: " + opensslError()};
  return adoptX509(cert);
}

Result<std::optional<PkeyRef>> loadPrivateKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<PkeyRef>{};
    return Error{errnoText("cannot stat", path)};
  }
  if ((st.st_mode & 077) != 0) {
    return Error{"refusing key file " + path + ": it is accessible by group or others (chmod 600)"};
  }
  auto text = readOptionalFile(path);
  if (!text) return text.error();
  if (!*text) return std::optional<PkeyRef>{};
  auto key = parsePrivateKeyPem(**text);
  if (!key) return Error{path + ": " + key.error().message};
  return std::optional<PkeyRef>{*key};
}

}  // namespace warden::issuer
