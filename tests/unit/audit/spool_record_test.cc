#include "audit/spool_record.h"

#include <gtest/gtest.h>

#include <string>

namespace warden::audit {
namespace {

TEST(SpoolRecordTest, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c(0, "123456789"), 0xE3069283U);  // RFC 3720 / iSCSI check value
  EXPECT_EQ(crc32c(crc32c(0, "1234"), "56789"), 0xE3069283U);
}

TEST(SpoolRecordTest, RoundTrips) {
  std::string out;
  appendSpoolRecord(out, 42, 1764000000123, R"({"a":"b c"})");
  ASSERT_EQ(out.back(), '\n');
  const auto record = parseSpoolRecord(std::string_view(out).substr(0, out.size() - 1));
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->seq, 42u);
  EXPECT_EQ(record->appended_unix_ms, 1764000000123);
  EXPECT_EQ(record->json, R"({"a":"b c"})");
}

TEST(SpoolRecordTest, AnyChangedByteIsDetected) {
  std::string out;
  appendSpoolRecord(out, 7, 1764000000000, R"({"event":"request","status":200})");
  out.pop_back();
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::string damaged = out;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    EXPECT_FALSE(parseSpoolRecord(damaged).has_value()) << "byte " << i;
  }
}

TEST(SpoolRecordTest, MalformedLinesAreRejected) {
  for (const char* line : {"", "1", "1 2", "1 2 0000000", "1 2 0000000g {}", "-1 2 00000000 {}",
                           "+1 2 00000000 {}", "1 -2 00000000 {}",
                           "99999999999999999999999 2 "
                           "00000000 {}",
                           "1 2 00000000 "}) {
    EXPECT_FALSE(parseSpoolRecord(line).has_value()) << line;
  }
}

}  // namespace
}  // namespace warden::audit
