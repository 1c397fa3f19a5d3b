// Warden's own Workload API server (src/issuer/workload_api_server.*) against independent
// clients: the grpc-js client (tests/interop/workload_client.mjs) loading our proto, jose
// (tests/interop/verify_jwt.mjs) for JWT-SVIDs, OpenSSL for X509-SVIDs, and Warden's own
// C++ WorkloadClient. identity-standards §4 and §10.4 (W1-W9).
//
// The main cases run `warden server -c <config>` as a real child process (WARDEN_BINARY)
// with a temp-dir config: a shared socket (workload_api.socket) whose callers are attested
// by SO_PEERCRED selectors, and one entry bound to a per-workload socket. The node client
// the test starts is granted by `unix:uid:<our uid>` + `unix:path:<realpath of node>`.
// Cases that need to reach into the issuer (federated bundles) use an in-process
// IdentityServer. Every wait is bounded; only processes the test started are signalled.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "identity/spiffe_bundle.h"
#include "identity/svid_verifier.h"
#include "issuer/identity_server.h"
#include "support/process_harness.h"
#include "support/test_pki.h"
#include "support/test_env.h"
#include "workload/workload_client.h"

namespace warden::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

constexpr auto kWait = 10s;  // every wait is bounded; generous for a loaded 2-core machine

const std::string kInterop = interopDir();
const std::string kProto = std::string(WARDEN_SOURCE_DIR) + "/proto/workload.proto";
const std::string kNodeId = "spiffe://example.org/node";
const std::string kBoundId = "spiffe://example.org/bound";
constexpr const char* kNobody = "65534";

// gRPC status codes as the grpc-js client prints them.
constexpr int kInvalidArgument = 3;
constexpr int kPermissionDenied = 7;
constexpr int kUnimplemented = 12;
constexpr int kUnavailable = 14;


std::string base64Decode(const std::string& text) {
  if (text.empty()) return {};
  std::string out(3 * (text.size() / 4) + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return {};
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --len;
  out.resize(len);
  return out;
}

std::string base64UrlEncode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::string base64UrlDecode(std::string text) {
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (text.size() % 4 != 0) text += '=';
  return base64Decode(text);
}

std::string certDer(X509* cert) {
  unsigned char* buf = nullptr;
  const int n = i2d_X509(cert, &buf);
  std::string out;
  if (n > 0) out.assign(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
  OPENSSL_free(buf);
  return out;
}

std::string certPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Owned = std::unique_ptr<X509, X509Free>;
using PkeyOwned = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Exactly one DER certificate, nothing after it.
X509Owned parseOneCert(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Owned cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return {};
  return cert;
}

// Strictly an unencrypted PKCS#8 PrivateKeyInfo (not SEC1, not "whatever d2i accepts").
PkeyOwned parsePkcs8(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  PKCS8_PRIV_KEY_INFO* info = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size()));
  if (info == nullptr) return {};
  const bool whole = p == reinterpret_cast<const unsigned char*>(der.data()) + der.size();
  PkeyOwned key(EVP_PKCS82PKEY(info));
  PKCS8_PRIV_KEY_INFO_free(info);
  if (!whole) return {};
  return key;
}

std::vector<Json> jsonLines(const std::string& out) {
  std::vector<Json> lines;
  std::stringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = Json::parse(line, nullptr, false);
    if (!j.is_discarded()) lines.push_back(std::move(j));
  }
  return lines;
}

Json lastJson(const std::string& out) {
  auto lines = jsonLines(out);
  return lines.empty() ? Json() : lines.back();
}

// The gRPC code the grpc-js client reported, or -1 when it printed no error.
int errorCode(const RunResult& r) {
  const Json j = lastJson(r.out);
  if (!j.is_object() || !j.contains("error")) return -1;
  return j["error"].value("code", -1);
}

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// `warden server -c <config>` in its own process: SIGTERM (then SIGKILL) on scope exit.
class WardenServer {
 public:
  WardenServer(const std::string& config, const std::string& output_dir)
      : child_(std::make_unique<ChildProcess>(
            std::vector<std::string>{WARDEN_BINARY, "server", "-c", config}, output_dir)) {
    ready_ = child_->waitForOutput("warden server ready", kWait);
  }
  ~WardenServer() {
    child_->signal(SIGTERM);
    if (!child_->wait(3s)) child_->signal(SIGKILL);
  }
  WardenServer(const WardenServer&) = delete;
  WardenServer& operator=(const WardenServer&) = delete;

  bool ready() const { return ready_; }
  // SIGHUP reloads the registration entries; waits for the n-th "entries loaded" log line.
  bool reload(int nth) {
    child_->signal(SIGHUP);
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      if (countOf(log(), "registration entries loaded") >= nth) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  std::string log() const { return child_->out() + child_->err(); }
  std::optional<int> exited() { return child_->wait(0ms); }

 private:
  static int countOf(const std::string& text, const std::string& needle) {
    int n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  }
  std::unique_ptr<ChildProcess> child_;
  bool ready_ = false;
};

// What one X509-SVID of a FetchX509SVID message (as the grpc-js client prints it) must be:
// a leaf-first DER chain whose leaf carries `spiffe_id`, an unencrypted PKCS#8 key that
// matches the leaf, and a bundle of DER roots that verifies the leaf (W3).
void expectValidX509Svid(const Json& svid, const std::string& spiffe_id) {
  ASSERT_TRUE(svid.is_object()) << svid.dump();
  EXPECT_EQ(svid.value("spiffe_id", ""), spiffe_id);
  const Json& chain = svid["chain_der_b64"];
  ASSERT_TRUE(chain.is_array() && !chain.empty()) << svid.dump();
  std::vector<X509Owned> certs;
  for (const auto& c : chain) {
    certs.push_back(parseOneCert(base64Decode(c.get<std::string>())));
    ASSERT_NE(certs.back(), nullptr) << "the chain is not concatenated DER certificates";
  }
  X509* leaf = certs.front().get();
  // Leaf first: the first certificate is the SVID itself, not a CA.
  auto id = identity::spiffeIdFromCertificate(leaf);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->str(), spiffe_id);
  EXPECT_EQ(X509_check_ca(leaf), 0) << "svids[].x509_svid must start with the leaf";

  const PkeyOwned key = parsePkcs8(base64Decode(svid.value("key_der_b64", "")));
  ASSERT_NE(key, nullptr) << "x509_svid_key is not unencrypted PKCS#8 DER";
  EXPECT_EQ(X509_check_private_key(leaf, key.get()), 1) << "the key does not match the leaf";

  auto roots = identity::parseDerCertificates(base64Decode(svid.value("bundle_der_b64", "")));
  ASSERT_TRUE(roots.ok()) << roots.error().message;
  ASSERT_FALSE(roots->empty());
  std::string pem;
  for (const auto& root : *roots) {
    EXPECT_GE(X509_check_ca(root.get()), 1) << "the bundle holds a non-CA certificate";
    EXPECT_NE(X509_get_extension_flags(root.get()) & EXFLAG_SS, 0u) << "the bundle holds a non-root";
    pem += certPem(root.get());
  }
  auto set = identity::TrustBundleSet::fromPem({{"example.org", pem}});
  ASSERT_TRUE(set.ok()) << set.error().message;
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (std::size_t i = 1; i < certs.size(); ++i) sk_X509_push(untrusted, certs[i].get());
  const auto outcome = identity::verifyX509Svid(**set, leaf, untrusted);
  sk_X509_free(untrusted);
  EXPECT_TRUE(outcome.ok) << outcome.error.detail;
  if (outcome.ok) {
    EXPECT_EQ(outcome.peer.id.str(), spiffe_id);
  }
}

std::time_t leafTime(const Json& svid, bool not_after) {
  const auto leaf = parseOneCert(base64Decode(svid["chain_der_b64"][0].get<std::string>()));
  if (!leaf) return 0;
  struct tm t {};
  ASN1_TIME_to_tm(not_after ? X509_get0_notAfter(leaf.get()) : X509_get0_notBefore(leaf.get()), &t);
  return timegm(&t);
}
std::time_t leafNotAfter(const Json& svid) { return leafTime(svid, true); }
std::time_t leafNotBefore(const Json& svid) { return leafTime(svid, false); }

class WorkloadApiServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = findOnPath("node");
    ASSERT_FALSE(node_.empty()) << "node is not on PATH; run scripts/setup.sh";
    ASSERT_TRUE(std::filesystem::exists(kInterop + "/node_modules/@grpc/grpc-js"))
        << kInterop << "/node_modules is missing; run npm ci --prefix tests/interop";
    ASSERT_TRUE(std::filesystem::exists(kInterop + "/node_modules/jose"));
    // /proc/<pid>/exe names the resolved binary, so the selector must too.
    node_real_ = std::filesystem::canonical(node_).string();
    // Another uid must reach the shared socket in here (W6).
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  }

  std::string socket() const { return dir_.file("agent.sock"); }
  std::string boundSocket() const { return dir_.file("bound.sock"); }

  // Runs the grpc-js client to completion: `prefix` (e.g. setpriv) + node client.mjs ...
  RunResult runClient(const std::string& socket, std::vector<std::string> args,
                      const std::vector<std::string>& prefix = {}) {
    std::vector<std::string> argv = prefix;
    argv.insert(argv.end(), {node_, client_, socket});
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--proto", proto_});
    return runToCompletion(argv, dir_.path(), 20s);
  }

  RunResult verifyWithJose(const std::string& jwks, const std::string& token,
                           const std::string& audience) {
    const std::string path = writeFile(dir_.path(), "jwks.json", jwks);
    return runToCompletion({node_, kInterop + "/verify_jwt.mjs", path, token, audience},
                           dir_.path(), 20s);
  }

  // The registration entries the child server (or the in-process one) starts with.
  std::string nodeSelectors() const {
    return "[\"unix:uid:" + std::to_string(::getuid()) + "\", \"unix:path:" + node_real_ + "\"]";
  }

  std::string configYaml(bool with_node_entry, const std::string& node_x509_ttl = "1h") const {
    std::ostringstream y;
    y << "trust_domain: example.org\n"
         "state_dir: state\n"
         "workload_api:\n"
         "  socket: agent.sock\n"
         "entries:\n";
    if (with_node_entry) {
      y << "  - name: node\n"
           "    spiffe_id: " << kNodeId << "\n"
           "    selectors: " << nodeSelectors() << "\n"
           "    x509_ttl: " << node_x509_ttl << "\n"
           "    jwt_ttl: 5m\n";
    }
    // Bound to its own socket: only callers on bound.sock get it, whoever they are.
    y << "  - name: bound\n"
         "    spiffe_id: " << kBoundId << "\n"
         "    socket: bound.sock\n";
    return y.str();
  }

  std::unique_ptr<WardenServer> startWarden(bool with_node_entry = true,
                                            const std::string& node_x509_ttl = "1h") {
    config_ = writeFile(dir_.path(), "server.yaml", configYaml(with_node_entry, node_x509_ttl));
    auto server = std::make_unique<WardenServer>(config_, dir_.path());
    EXPECT_TRUE(server->ready()) << server->log();
    return server;
  }

  // A good JWT-SVID for `audience`, fetched by the grpc-js client.
  std::string fetchToken(const std::string& audience) {
    const auto r = runClient(socket(), {"jwt", audience});
    const Json j = lastJson(r.out);
    if (r.code != 0 || !j.contains("svids") || j["svids"].empty()) {
      ADD_FAILURE() << describe(r);
      return {};
    }
    return j["svids"][0].value("svid", "");
  }

  // The JWKS of example.org as FetchJWTBundles serves it, as text.
  std::string fetchJwks() {
    const auto r = runClient(socket(), {"jwt-bundles"});
    const Json j = lastJson(r.out);
    if (r.code != 0 || !j.contains("bundles")) {
      ADD_FAILURE() << describe(r);
      return {};
    }
    EXPECT_TRUE(j["bundles"].contains("spiffe://example.org")) << j.dump();
    return j["bundles"].value("spiffe://example.org", Json::object()).dump();
  }

  TempDir dir_;
  std::string node_, node_real_;
  std::string client_ = kInterop + "/workload_client.mjs";
  std::string proto_ = kProto;
  std::string config_;
};

using WorkloadApiServerTest = WorkloadApiServerFixture;

// W1, W2: every RPC needs exactly one `workload.spiffe.io: true`; anything else is
// INVALID_ARGUMENT with SPIRE's text, before attestation is even looked at.
TEST_F(WorkloadApiServerTest, SecurityHeaderMustBeExactlyOneTrue) {
  auto server = startWarden();
  ASSERT_TRUE(server->ready());
  struct Case {
    std::vector<std::string> args;
    const char* what;
  };
  const std::vector<Case> cases = {
      {{"x509", "--no-header"}, "W1 FetchX509SVID without the header"},
      {{"jwt", "aud", "--no-header"}, "W1 FetchJWTSVID without the header"},
      {{"jwt-bundles", "--no-header"}, "W1 FetchJWTBundles without the header"},
      {{"x509-bundles", "--no-header"}, "W1 FetchX509Bundles without the header"},
      {{"validate", "aud", "a.b.c", "--no-header"}, "W1 ValidateJWTSVID without the header"},
      {{"x509", "--header-value", "TRUE"}, "W2 value TRUE"},
      {{"x509", "--header-value", "1"}, "W2 value 1"},
      {{"x509", "--header-twice"}, "W2 sent twice"},
      {{"jwt", "aud", "--header-twice"}, "W2 sent twice (unary)"},
  };
  for (const auto& c : cases) {
    const auto r = runClient(socket(), c.args);
    EXPECT_EQ(errorCode(r), kInvalidArgument) << c.what << "\n" << describe(r);
    EXPECT_NE(r.out.find("security header missing from request"), std::string::npos)
        << c.what << "\n" << describe(r);
  }
  // The control: the same client with the header is served.
  const auto ok = runClient(socket(), {"x509"});
  EXPECT_EQ(ok.code, 0) << describe(ok);
}

// W3: the first message arrives at once (a 3 s deadline on the whole stream call), and
// what it carries parses with OpenSSL: leaf-first DER chain, PKCS#8 key matching the leaf,
// DER roots that verify the leaf. The shared socket gives the node entry only: the entry
// bound to bound.sock is never served on it.
TEST_F(WorkloadApiServerTest, FirstX509MessageParsesWithOpenSsl) {
  auto server = startWarden();
  ASSERT_TRUE(server->ready());
  const auto started = std::chrono::steady_clock::now();
  const auto r = runClient(socket(), {"x509", "--timeout", "3000"});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_LT(took, 8s);
  const auto lines = jsonLines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  const Json& msg = lines.front();
  ASSERT_EQ(msg["svids"].size(), 1u) << msg.dump();
  expectValidX509Svid(msg["svids"][0], kNodeId);
  EXPECT_EQ(msg.value("spiffe_id", ""), kNodeId);  // svids[0], the default identity
  EXPECT_TRUE(msg["federated"].empty()) << "no entry federates: " << msg["federated"].dump();
  EXPECT_EQ(msg.value("crl_count", -1), 0);
  const std::time_t now = std::time(nullptr);
  EXPECT_GT(leafNotAfter(msg["svids"][0]), now + 3000);
  EXPECT_LE(leafNotAfter(msg["svids"][0]), now + 3700);

  // FetchX509Bundles: only the server's own trust domain (keyed spiffe://td), and the same
  // roots as the SVID's bundle.
  const auto b = runClient(socket(), {"x509-bundles"});
  ASSERT_EQ(b.code, 0) << describe(b);
  const Json bundles = lastJson(b.out)["bundles"];
  ASSERT_EQ(bundles.size(), 1u) << bundles.dump();
  EXPECT_EQ(bundles.value("spiffe://example.org", ""), msg["svids"][0].value("bundle_der_b64", ""));
}

// A per-workload socket grants exactly its own entry, with no selectors needed; the
// shared socket never grants that entry (binding is exclusive).
TEST_F(WorkloadApiServerTest, PerWorkloadSocketGrantsOnlyItsEntry) {
  auto server = startWarden();
  ASSERT_TRUE(server->ready());
  struct stat st {};
  ASSERT_EQ(::stat(boundSocket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "a per-workload socket is private to its owner";
  ASSERT_EQ(::stat(socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u) << "the shared socket is open; attestation decides";

  const auto r = runClient(boundSocket(), {"x509"});
  ASSERT_EQ(r.code, 0) << describe(r);
  const Json msg = lastJson(r.out);
  ASSERT_EQ(msg["svids"].size(), 1u) << msg.dump();
  expectValidX509Svid(msg["svids"][0], kBoundId);

  const auto jwt = runClient(boundSocket(), {"jwt", "aud"});
  ASSERT_EQ(jwt.code, 0) << describe(jwt);
  const Json svids = lastJson(jwt.out)["svids"];
  ASSERT_EQ(svids.size(), 1u) << jwt.out;
  EXPECT_EQ(svids[0].value("spiffe_id", ""), kBoundId);
}

// W4: an entry with x509_ttl 4s is re-minted at half its lifetime (rotation tick 1 s):
// the open stream gets a second full message within half-life + tick (about 3 s), with
// a different leaf and key, and still complete (every message is the whole state).
TEST_F(WorkloadApiServerTest, RotationSendsASecondFullMessageWithANewLeaf) {
  auto server = startWarden(true, "4s");
  ASSERT_TRUE(server->ready());
  ChildProcess client({node_, client_, socket(), "x509", "--count", "2", "--timeout", "15000",
                       "--proto", proto_},
                      dir_.path());
  // Timestamps of the lines as they appear (polling; bounded).
  std::vector<std::chrono::steady_clock::time_point> seen;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline && seen.size() < 2) {
    const bool exited = client.wait(0ms).has_value();
    const auto n = jsonLines(client.out()).size();
    while (seen.size() < n) seen.push_back(std::chrono::steady_clock::now());
    if (exited) break;
    std::this_thread::sleep_for(20ms);
  }
  const auto code = client.wait(kWait);
  ASSERT_TRUE(code.has_value());
  ASSERT_EQ(*code, 0) << client.out() << client.err();
  const auto lines = jsonLines(client.out());
  ASSERT_EQ(lines.size(), 2u) << client.out();
  ASSERT_EQ(seen.size(), 2u);
  const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(seen[1] - seen[0]);
  // Half-life (2 s) + tick (1 s), plus slack for a loaded machine.
  EXPECT_LE(gap, 4000ms) << "the rotated SVID must come within half-life + tick";
  RecordProperty("rotation_gap_ms", static_cast<int>(gap.count()));
  for (const auto& msg : lines) {
    ASSERT_EQ(msg["svids"].size(), 1u) << msg.dump();
    expectValidX509Svid(msg["svids"][0], kNodeId);
  }
  EXPECT_NE(lines[0]["chain_der_b64"][0], lines[1]["chain_der_b64"][0]) << "same leaf twice";
  EXPECT_NE(lines[0]["key_der_b64"], lines[1]["key_der_b64"]) << "rotation must change the key";
  EXPECT_EQ(lines[0]["bundle_der_b64"], lines[1]["bundle_der_b64"]);
  EXPECT_LE(leafNotAfter(lines[1]["svids"][0]), std::time(nullptr) + 5);
  // ... and not before the half-life: the second SVID was minted at least 2 s after the
  // first (both notBefore are backdated alike), not on the next tick.
  EXPECT_GE(leafNotBefore(lines[1]["svids"][0]) - leafNotBefore(lines[0]["svids"][0]), 2)
      << "re-minted before half of the 4 s TTL had passed";
}

// W5: the node's entry is removed (config rewritten, SIGHUP). Warden ends the open stream
// with PERMISSION_DENIED, rather than sending a message without the SVID, because no entry
// grants the caller anything any more. New calls are denied too; restoring the entry
// (another SIGHUP) grants it again without a restart.
TEST_F(WorkloadApiServerTest, RemovedRegistrationEndsTheStreamWithPermissionDenied) {
  auto server = startWarden();
  ASSERT_TRUE(server->ready());
  ChildProcess client({node_, client_, socket(), "x509", "--count", "2", "--timeout", "20000",
                       "--proto", proto_},
                      dir_.path());
  ASSERT_TRUE(client.waitForOutput(kNodeId, kWait)) << client.out() << client.err();

  writeFile(dir_.path(), "server.yaml", configYaml(false));
  ASSERT_TRUE(server->reload(1)) << server->log();
  const auto code = client.wait(kWait);
  ASSERT_TRUE(code.has_value()) << "the stream stayed open after the entry was removed";
  EXPECT_EQ(*code, 1);
  const auto lines = jsonLines(client.out());
  ASSERT_EQ(lines.size(), 2u) << client.out();
  EXPECT_EQ(lines[0].value("spiffe_id", ""), kNodeId);
  ASSERT_TRUE(lines[1].contains("error")) << lines[1].dump();
  EXPECT_EQ(lines[1]["error"].value("code", -1), kPermissionDenied) << lines[1].dump();

  const auto again = runClient(socket(), {"x509"});
  EXPECT_EQ(errorCode(again), kPermissionDenied) << describe(again);
  const auto jwt = runClient(socket(), {"jwt", "aud"});
  EXPECT_EQ(errorCode(jwt), kPermissionDenied) << describe(jwt);

  writeFile(dir_.path(), "server.yaml", configYaml(true));
  ASSERT_TRUE(server->reload(2)) << server->log();
  const auto back = runClient(socket(), {"x509"});
  ASSERT_EQ(back.code, 0) << describe(back);
  EXPECT_EQ(lastJson(back.out).value("spiffe_id", ""), kNodeId);
}

// W6: the same node client, run as another uid (65534), is attested by SO_PEERCRED and
// matches no entry: PERMISSION_DENIED on every RPC that issues. The per-workload socket
// is 0600, so that uid cannot even connect: UNAVAILABLE.
TEST_F(WorkloadApiServerTest, CallerOfAnotherUidIsDenied) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as uid 65534";
  const std::string setpriv = findOnPath("setpriv");
  if (setpriv.empty()) GTEST_SKIP() << "setpriv (util-linux) is not installed";
  const std::vector<std::string> as_nobody = {setpriv, std::string("--reuid=") + kNobody,
                                              std::string("--regid=") + kNobody, "--clear-groups"};
  // The client and its modules must be readable by that uid; copy them here if the
  // source tree is not.
  const std::string test_bin = findOnPath("test");
  ASSERT_FALSE(test_bin.empty());
  auto readable = [&](const std::string& p) {
    std::vector<std::string> argv = as_nobody;
    argv.insert(argv.end(), {test_bin, "-r", p});
    return runToCompletion(argv, dir_.path(), 10s).code == 0;
  };
  if (!readable(client_) || !readable(proto_) ||
      !readable(kInterop + "/node_modules/@grpc/grpc-js/package.json") ||
      !readable(kInterop + "/node_modules/@grpc/proto-loader/package.json")) {
    namespace fs = std::filesystem;
    const fs::path copy = fs::path(dir_.path()) / "nobody";
    fs::create_directories(copy / "tests/interop");
    fs::create_directories(copy / "proto");
    fs::copy(kInterop + "/workload_client.mjs", copy / "tests/interop/workload_client.mjs");
    fs::copy(kInterop + "/node_modules", copy / "tests/interop/node_modules",
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::copy(kProto, copy / "proto/workload.proto");
    for (const auto& e : fs::recursive_directory_iterator(copy)) {
      if (e.is_symlink()) continue;
      fs::permissions(e.path(),
                      e.is_directory() ? fs::perms::others_read | fs::perms::others_exec
                                       : fs::perms::others_read,
                      fs::perm_options::add);
    }
    fs::permissions(copy, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
    client_ = (copy / "tests/interop/workload_client.mjs").string();
    proto_ = (copy / "proto/workload.proto").string();
    ASSERT_TRUE(readable(client_)) << "cannot make the client readable by uid 65534";
  }

  auto server = startWarden();
  ASSERT_TRUE(server->ready());
  // The control: the client as our uid is served on the shared socket.
  const auto mine = runClient(socket(), {"x509"});
  ASSERT_EQ(mine.code, 0) << describe(mine);

  const auto x509 = runClient(socket(), {"x509"}, as_nobody);
  EXPECT_EQ(errorCode(x509), kPermissionDenied) << describe(x509);
  EXPECT_NE(x509.out.find("no identity issued"), std::string::npos) << describe(x509);
  const auto jwt = runClient(socket(), {"jwt", "aud"}, as_nobody);
  EXPECT_EQ(errorCode(jwt), kPermissionDenied) << describe(jwt);
  const auto jwt_bound = runClient(socket(), {"jwt", "aud", "--spiffe-id", kNodeId}, as_nobody);
  EXPECT_EQ(errorCode(jwt_bound), kPermissionDenied) << describe(jwt_bound);
  // Warden logged who it refused (the kernel's uid, not anything the client said).
  EXPECT_NE(server->log().find(std::string("uid ") + kNobody), std::string::npos) << server->log();

  const auto bound = runClient(boundSocket(), {"x509", "--timeout", "5000"}, as_nobody);
  EXPECT_EQ(errorCode(bound), kUnavailable) << describe(bound);
  EXPECT_EQ(bound.out.find("chain_der_b64"), std::string::npos) << describe(bound);
}

// W7: FetchJWTSVID without an audience is INVALID_ARGUMENT; asking for an ID the caller is
// not entitled to (it exists, but is bound to another socket) is PERMISSION_DENIED; a
// valid call returns a JWT-SVID that jose verifies against the FetchJWTBundles JWKS.
TEST_F(WorkloadApiServerTest, JwtSvidVerifiesWithJoseAgainstTheServedJwks) {
  auto server = startWarden();
  ASSERT_TRUE(server->ready());
  const auto no_aud = runClient(socket(), {"jwt"});
  EXPECT_EQ(errorCode(no_aud), kInvalidArgument) << describe(no_aud);
  const auto not_mine = runClient(socket(), {"jwt", "aud", "--spiffe-id", kBoundId});
  EXPECT_EQ(errorCode(not_mine), kPermissionDenied) << describe(not_mine);
  const auto bad_id = runClient(socket(), {"jwt", "aud", "--spiffe-id", "not-a-spiffe-id"});
  EXPECT_EQ(errorCode(bad_id), kInvalidArgument) << describe(bad_id);

  const auto r = runClient(socket(), {"jwt", "https://api.example.org", "--spiffe-id", kNodeId});
  ASSERT_EQ(r.code, 0) << describe(r);
  const Json svids = lastJson(r.out)["svids"];
  ASSERT_EQ(svids.size(), 1u) << r.out;
  EXPECT_EQ(svids[0].value("spiffe_id", ""), kNodeId);
  const std::string token = svids[0].value("svid", "");
  ASSERT_FALSE(token.empty());

  const std::string jwks = fetchJwks();
  ASSERT_FALSE(jwks.empty());
  const auto v = verifyWithJose(jwks, token, "https://api.example.org");
  ASSERT_EQ(v.code, 0) << describe(v);
  const Json out = lastJson(v.out);
  ASSERT_TRUE(out.value("ok", false)) << v.out;
  EXPECT_EQ(out["payload"].value("sub", ""), kNodeId);
  EXPECT_TRUE(out["payload"].contains("exp"));
  const Json kid = out["header"].value("kid", Json());
  ASSERT_TRUE(kid.is_string()) << out.dump();
  bool kid_served = false;
  const Json served = Json::parse(jwks);
  for (const auto& k : served["keys"]) kid_served = kid_served || k.value("kid", "") == kid;
  EXPECT_TRUE(kid_served) << "the token's kid is not in the served JWKS";

  // And jose refuses it for another audience (the check is real).
  const auto wrong_aud = verifyWithJose(jwks, token, "https://other.example.org");
  EXPECT_EQ(wrong_aud.code, 1) << describe(wrong_aud);
  EXPECT_FALSE(lastJson(wrong_aud.out).value("ok", true)) << wrong_aud.out;
}

// W8: ValidateJWTSVID with a good token returns the SPIFFE ID and the claims as a Struct,
// `aud` as a list even for one audience; a tampered or foreign token is INVALID_ARGUMENT.
TEST_F(WorkloadApiServerTest, ValidateJwtSvidReturnsClaimsAndRefusesBadTokens) {
  auto server = startWarden();
  ASSERT_TRUE(server->ready());
  const std::string token = fetchToken("spiffe://example.org/api");
  ASSERT_FALSE(token.empty());

  const auto r = runClient(socket(), {"validate", "spiffe://example.org/api", token});
  ASSERT_EQ(r.code, 0) << describe(r);
  const Json out = lastJson(r.out);
  EXPECT_EQ(out.value("spiffe_id", ""), kNodeId);
  const Json& claims = out["claims"];
  EXPECT_EQ(claims.value("sub", ""), kNodeId);
  ASSERT_TRUE(claims["aud"].is_array()) << claims.dump();
  EXPECT_EQ(claims["aud"], Json::array({"spiffe://example.org/api"}));
  EXPECT_TRUE(claims["exp"].is_number()) << claims.dump();

  const auto first_dot = token.find('.');
  const auto second_dot = token.find('.', first_dot + 1);
  ASSERT_NE(second_dot, std::string::npos);
  // A different subject under the original signature.
  Json payload = Json::parse(base64UrlDecode(token.substr(first_dot + 1, second_dot - first_dot - 1)));
  payload["sub"] = "spiffe://example.org/admin";
  const std::string forged_payload =
      token.substr(0, first_dot + 1) + base64UrlEncode(payload.dump()) + token.substr(second_dot);
  // A signature with one byte changed (a character in the middle, not the padding bits).
  std::string forged_sig = token;
  char& c = forged_sig[second_dot + 10];
  c = c == 'A' ? 'B' : 'A';
  struct Case {
    std::vector<std::string> args;
    const char* what;
  };
  const std::vector<Case> cases = {
      {{"validate", "spiffe://example.org/api", forged_payload}, "tampered payload"},
      {{"validate", "spiffe://example.org/api", forged_sig}, "tampered signature"},
      {{"validate", "spiffe://example.org/other", token}, "wrong audience"},
      {{"validate", "spiffe://example.org/api", "not.a.jwt"}, "not a JWT"},
  };
  for (const auto& tc : cases) {
    const auto bad = runClient(socket(), tc.args);
    EXPECT_EQ(errorCode(bad), kInvalidArgument) << tc.what << "\n" << describe(bad);
  }
}

// W9: WIT-SVIDs are not supported: UNIMPLEMENTED, which clients must not retry.
TEST_F(WorkloadApiServerTest, WitRpcsAreUnimplemented) {
  auto server = startWarden();
  ASSERT_TRUE(server->ready());
  const auto wit = runClient(socket(), {"wit"});
  EXPECT_EQ(errorCode(wit), kUnimplemented) << describe(wit);
  const auto wit_id = runClient(socket(), {"wit", kNodeId});
  EXPECT_EQ(errorCode(wit_id), kUnimplemented) << describe(wit_id);
  const auto bundles = runClient(socket(), {"wit-bundles"});
  EXPECT_EQ(errorCode(bundles), kUnimplemented) << describe(bundles);
}

// The in-process IdentityServer, for the cases that reach into the issuer: a federated
// bundle injected with setFederatedBundle, and Warden's own C++ client (which runs in
// this process, so an entry grants this test binary).
class WorkloadApiServerInProcessTest : public WorkloadApiServerFixture {
 protected:
  void SetUp() override {
    WorkloadApiServerFixture::SetUp();
    if (HasFatalFailure()) return;
    self_real_ = std::filesystem::canonical("/proc/self/exe").string();
    issuer::IdentityServerConfig c;
    c.trust_domain = "example.org";
    c.state_dir = dir_.file("state");
    c.workload_api_socket = socket();
    const std::string uid = "unix:uid:" + std::to_string(::getuid());
    c.entries = {entry("node", kNodeId, {uid, "unix:path:" + node_real_}),
                 entry("self", "spiffe://example.org/test-binary", {uid, "unix:path:" + self_real_})};
    auto s = issuer::IdentityServer::start(c);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
  }

  static issuer::RegistrationEntry entry(const std::string& name, const std::string& id,
                                         std::vector<std::string> selectors) {
    issuer::RegistrationEntry e;
    e.name = name;
    e.spiffe_id = identity::SpiffeId::parse(id).value();
    std::sort(selectors.begin(), selectors.end());
    e.selectors = std::move(selectors);
    e.federates_with = {"other.org"};
    return e;
  }

  workload::EndpointAddress endpoint() const {
    auto parsed = workload::parseEndpointAddress("unix://" + socket());
    return parsed.ok() ? *parsed : workload::EndpointAddress{};
  }

  std::string self_real_;
  std::unique_ptr<issuer::IdentityServer> server_;
  TestCa other_{"other.org"};
};

std::shared_ptr<X509> shareCert(X509* cert) {
  X509_up_ref(cert);
  return {cert, X509_free};
}

// W3 (federation): an entry that federates_with other.org gets other.org's CAs in
// `federated_bundles`, keyed `spiffe://other.org` as SPIRE emits them; FetchX509Bundles
// has both trust domains under spiffe:// keys.
TEST_F(WorkloadApiServerInProcessTest, FederatedBundlesAreKeyedBySpiffeTrustDomain) {
  identity::SpiffeBundle bundle;
  bundle.trust_domain = "other.org";
  bundle.x509_authorities = {shareCert(other_.cert())};
  server_->issuer().setFederatedBundle(bundle);

  const auto r = runClient(socket(), {"x509", "--timeout", "3000"});
  ASSERT_EQ(r.code, 0) << describe(r);
  const Json msg = lastJson(r.out);
  ASSERT_EQ(msg["svids"].size(), 1u) << msg.dump();
  expectValidX509Svid(msg["svids"][0], kNodeId);
  const Json& federated = msg["federated"];
  ASSERT_EQ(federated.size(), 1u) << federated.dump();
  ASSERT_TRUE(federated.contains("spiffe://other.org")) << federated.dump();
  EXPECT_EQ(base64Decode(federated["spiffe://other.org"].get<std::string>()),
            certDer(other_.cert()));

  const auto b = runClient(socket(), {"x509-bundles"});
  ASSERT_EQ(b.code, 0) << describe(b);
  const Json bundles = lastJson(b.out)["bundles"];
  std::set<std::string> keys;
  for (const auto& [k, v] : bundles.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"spiffe://example.org", "spiffe://other.org"}));
}

// Warden's own client against Warden's server: the X.509 context (with the federated
// bundle), a JWT-SVID round trip through ValidateJWTSVID, and the JWT bundles with the
// issuer's active kid.
TEST_F(WorkloadApiServerInProcessTest, WardensOwnClientRoundTrips) {
  identity::SpiffeBundle bundle;
  bundle.trust_domain = "other.org";
  bundle.x509_authorities = {shareCert(other_.cert())};
  server_->issuer().setFederatedBundle(bundle);

  workload::WorkloadClient client(endpoint(), 5s);
  auto ctx = client.fetchX509Context();
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  ASSERT_EQ(ctx->svids.size(), 1u);
  const auto& svid = ctx->defaultSvid();
  EXPECT_EQ(svid.spiffe_id, "spiffe://example.org/test-binary");
  ASSERT_FALSE(svid.chain.empty());
  EXPECT_EQ(X509_check_private_key(svid.chain.front().get(), svid.private_key.get()), 1);
  ASSERT_EQ(ctx->bundles.count("example.org"), 1u);
  ASSERT_EQ(ctx->bundles.count("other.org"), 1u);
  ASSERT_EQ(ctx->bundles.at("other.org").size(), 1u);
  EXPECT_EQ(certDer(ctx->bundles.at("other.org")[0].get()), certDer(other_.cert()));

  auto jwts = client.fetchJwtSvids({"spiffe://example.org/api"});
  ASSERT_TRUE(jwts.ok()) << jwts.error().message;
  ASSERT_EQ(jwts->size(), 1u);
  EXPECT_EQ(jwts->front().spiffe_id, "spiffe://example.org/test-binary");
  auto validated = client.validateJwtSvid("spiffe://example.org/api", jwts->front().token);
  ASSERT_TRUE(validated.ok()) << validated.error().message;
  EXPECT_EQ(validated->spiffe_id, "spiffe://example.org/test-binary");
  const Json claims = Json::parse(validated->claims_json);
  EXPECT_EQ(claims.value("sub", ""), "spiffe://example.org/test-binary");
  EXPECT_EQ(claims["aud"], Json::array({"spiffe://example.org/api"}));
  auto wrong = client.validateJwtSvid("spiffe://example.org/other", jwts->front().token);
  EXPECT_FALSE(wrong.ok());
  // Not entitled to the node's identity (W7 from Warden's client).
  auto not_mine = client.fetchJwtSvids({"aud"}, kNodeId);
  EXPECT_FALSE(not_mine.ok());

  auto jwt_bundles = client.fetchJwtBundles();
  ASSERT_TRUE(jwt_bundles.ok()) << jwt_bundles.error().message;
  ASSERT_EQ(jwt_bundles->count("example.org"), 1u);
  const std::string active = server_->issuer().jwtAuthority().activeKid();
  ASSERT_FALSE(active.empty());
  bool found = false;
  for (const auto& k : jwt_bundles->at("example.org").jwt_authorities) found = found || k.kid == active;
  EXPECT_TRUE(found) << "the active kid " << active << " is not in the served JWT bundle";

  auto x509_bundles = client.fetchX509Bundles();
  ASSERT_TRUE(x509_bundles.ok()) << x509_bundles.error().message;
  EXPECT_EQ(x509_bundles->count("example.org"), 1u);
  EXPECT_EQ(x509_bundles->count("other.org"), 1u);
}

// `warden server --check -c FILE`: a bad config is one line on stderr naming the field, and
// a non-zero exit; a good one prints "<file>: ok".
class WorkloadApiServerConfigTest : public WorkloadApiServerFixture {};

TEST_F(WorkloadApiServerConfigTest, CheckNamesTheBadFieldOnOneLine) {
  const std::string good = writeFile(dir_.path(), "good.yaml", configYaml(true));
  const auto ok = runToCompletion({WARDEN_BINARY, "server", "--check", "-c", good}, dir_.path());
  EXPECT_EQ(ok.code, 0) << describe(ok);
  EXPECT_EQ(ok.out, good + ": ok\n");
  EXPECT_FALSE(std::filesystem::exists(socket())) << "--check must not start the server";

  struct Case {
    std::string yaml;
    std::string field;
  };
  const std::string head =
      "trust_domain: example.org\nstate_dir: state\nworkload_api:\n  socket: agent.sock\n";
  const std::vector<Case> cases = {
      {head + "entries:\n  - name: a\n    spiffe_id: spiffe://example.org/a\n"
              "    selectors: [\"unix:uid:0\"]\n    x509_ttl: soon\n",
       "entries[0].x509_ttl"},
      {head + "entries:\n  - name: a\n    spiffe_id: spiffe://example.org/a\n"
              "    selector: [\"unix:uid:0\"]\n",
       "entries[0].selector"},
      {head + "entries:\n  - name: a\n    spiffe_id: spiffe://example.org/a\n"
              "    selectors: [\"unix:colour:blue\"]\n",
       "entries[0].selectors[0]"},
      {"trust_domain: Example.org\nstate_dir: state\n", "trust_domain"},
  };
  for (const auto& c : cases) {
    const std::string bad = writeFile(dir_.path(), "bad.yaml", c.yaml);
    const auto r = runToCompletion({WARDEN_BINARY, "server", "--check", "-c", bad}, dir_.path());
    EXPECT_NE(r.code, 0) << c.yaml << describe(r);
    EXPECT_TRUE(r.out.empty()) << describe(r);
    ASSERT_FALSE(r.err.empty()) << c.yaml;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "expected one line: " << r.err;
    EXPECT_NE(r.err.find(c.field), std::string::npos) << "the error must name " << c.field << ": "
                                                      << r.err;
    EXPECT_NE(r.err.find(bad), std::string::npos) << "the error must name the file: " << r.err;
  }
}

}  // namespace
}  // namespace warden::testing
