// Registration entries and selector matching (SPIRE's unix workload attestor model).
#include "issuer/registration.h"

#include <gtest/gtest.h>

namespace warden::issuer {
namespace {

RegistrationEntry entry(std::vector<std::string> selectors, std::string socket = {}) {
  RegistrationEntry e;
  e.name = "a";
  e.spiffe_id = identity::SpiffeId::parse("spiffe://example.org/a").value();
  e.selectors = std::move(selectors);
  e.socket_path = std::move(socket);
  return e;
}

TEST(Registration, SelectorSyntax) {
  struct Row {
    const char* selector;
    bool ok;
  };
  const Row rows[] = {
      {"unix:uid:1000", true},
      {"unix:gid:0", true},
      {"unix:user:alice", true},
      {"unix:group:staff", true},
      {"unix:path:/usr/bin/node", true},
      {"unix:sha256:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
      {"unix:uid:-1", false},
      {"unix:uid:abc", false},
      {"unix:uid:", false},
      {"unix:path:relative/bin", false},
      {"unix:sha256:ABCDEF", false},
      {"unix:pid:1", false},
      {"k8s:ns:default", false},
      {"unix", false},
      {"", false},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(validateSelector(r.selector).ok(), r.ok) << r.selector;
  }
}

TEST(Registration, EntryNeedsSelectorsOrASocket) {
  EXPECT_FALSE(validateEntry(entry({}), "example.org").ok());
  EXPECT_TRUE(validateEntry(entry({"unix:uid:1"}), "example.org").ok());
  EXPECT_TRUE(validateEntry(entry({}, "/run/warden/a.sock"), "example.org").ok());
  EXPECT_FALSE(validateEntry(entry({}, "relative.sock"), "example.org").ok());
}

TEST(Registration, EntryIdMustBeAWorkloadOfTheOwnTrustDomain) {
  auto e = entry({"unix:uid:1"});
  EXPECT_FALSE(validateEntry(e, "other.org").ok());
  e.spiffe_id = identity::SpiffeId::parse("spiffe://example.org").value();
  EXPECT_FALSE(validateEntry(e, "example.org").ok());
}

TEST(Registration, FederatesWithMustBeForeignTrustDomains) {
  auto e = entry({"unix:uid:1"});
  e.federates_with = {"gcp.example"};
  EXPECT_TRUE(validateEntry(e, "example.org").ok());
  e.federates_with = {"example.org"};
  EXPECT_FALSE(validateEntry(e, "example.org").ok());
  e.federates_with = {"Not A Domain"};
  EXPECT_FALSE(validateEntry(e, "example.org").ok());
}

TEST(Registration, NamesAndSocketsAreUnique) {
  auto a = entry({"unix:uid:1"}, "/run/a.sock");
  auto b = entry({"unix:uid:2"}, "/run/b.sock");
  b.name = "b";
  EXPECT_TRUE(validateEntries({a, b}, "example.org").ok());
  b.name = "a";
  EXPECT_FALSE(validateEntries({a, b}, "example.org").ok());
  b.name = "b";
  b.socket_path = "/run/a.sock";
  EXPECT_FALSE(validateEntries({a, b}, "example.org").ok());
}

// An entry matches when all of its selectors are among the workload's (SPIRE semantics).
TEST(Registration, AllSelectorsOfTheEntryMustBePresent) {
  const std::vector<std::string> workload = {"unix:gid:100", "unix:path:/bin/app", "unix:uid:1000"};
  EXPECT_TRUE(selectorsMatch(entry({"unix:uid:1000"}), workload));
  EXPECT_TRUE(selectorsMatch(entry({"unix:gid:100", "unix:uid:1000"}), workload));
  EXPECT_FALSE(selectorsMatch(entry({"unix:uid:1001"}), workload));
  EXPECT_FALSE(selectorsMatch(entry({"unix:path:/bin/other", "unix:uid:1000"}), workload));
}

}  // namespace
}  // namespace warden::issuer
