#include "audit/audit_spool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/test_pki.h"

namespace warden::audit {
namespace {

std::vector<std::string> lines(int first, int count) {
  std::vector<std::string> out;
  for (int i = first; i < first + count; ++i) out.push_back("{\"n\":" + std::to_string(i) + "}");
  return out;
}

std::unique_ptr<AuditSpool> openSpool(const std::string& dir, AuditSpoolOptions options = {}) {
  auto spool = AuditSpool::open(dir, options);
  EXPECT_TRUE(spool.ok()) << spool.error().message;
  return spool.ok() ? std::move(spool).value() : nullptr;
}

std::vector<SpooledEvent> readAll(AuditSpool& spool, std::uint64_t after = 0) {
  auto events = spool.readFrom(after, 1'000'000, 1'000'000'000);
  EXPECT_TRUE(events.ok()) << events.error().message;
  return events.ok() ? std::move(events).value() : std::vector<SpooledEvent>{};
}

std::vector<std::uint64_t> seqs(const std::vector<SpooledEvent>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

std::vector<std::string> segmentFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("seg-")) out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

TEST(AuditSpoolTest, AppendedLinesReadBackInOrderWithIncreasingSeq) {
  testing::TempDir dir;
  auto spool = openSpool(dir.file("spool"));
  ASSERT_TRUE(spool);
  ASSERT_TRUE(spool->append(lines(1, 3)).ok());
  ASSERT_TRUE(spool->append(lines(4, 2)).ok());
  const auto events = readAll(*spool);
  ASSERT_EQ(seqs(events), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].json, lines(1, 5)[i]);
    EXPECT_GT(events[i].appended_unix_ms, 0);
  }
  EXPECT_EQ(spool->lastSeq(), 5u);
  EXPECT_EQ(spool->pendingEvents(), 5u);
  EXPECT_EQ(spool->stats().appended, 5u);
}

TEST(AuditSpoolTest, SeqContinuesAcrossReopenEvenAfterEverythingWasAcked) {
  testing::TempDir dir;
  const std::string path = dir.file("spool");
  {
    auto spool = openSpool(path);
    ASSERT_TRUE(spool->append(lines(1, 5)).ok());
  }
  {
    auto spool = openSpool(path);
    EXPECT_EQ(spool->lastSeq(), 5u);
    ASSERT_TRUE(spool->append(lines(6, 3)).ok());
    EXPECT_EQ(seqs(readAll(*spool, 5)), (std::vector<std::uint64_t>{6, 7, 8}));
    ASSERT_TRUE(spool->ack(8).ok());
    EXPECT_TRUE(segmentFiles(path).empty());  // nothing left on disk but `acked`
  }
  auto spool = openSpool(path);
  EXPECT_EQ(spool->lastSeq(), 8u);
  EXPECT_EQ(spool->pendingEvents(), 0u);
  ASSERT_TRUE(spool->append(lines(9, 1)).ok());
  EXPECT_EQ(seqs(readAll(*spool)), (std::vector<std::uint64_t>{9}));
}

TEST(AuditSpoolTest, AckDeletesFullyAckedSegmentsAndSurvivesReopen) {
  testing::TempDir dir;
  const std::string path = dir.file("spool");
  // Each two-line batch is about 80 bytes: every append rolls to a new segment.
  const AuditSpoolOptions options{.max_segment_bytes = 60};
  {
    auto spool = openSpool(path, options);
    for (int b = 0; b < 5; ++b) ASSERT_TRUE(spool->append(lines(1 + 2 * b, 2)).ok());
    EXPECT_EQ(segmentFiles(path).size(), 5u);
    ASSERT_EQ(readAll(*spool).size(), 10u);

    ASSERT_TRUE(spool->ack(6).ok());  // segments 1-2, 3-4, 5-6
    EXPECT_EQ(segmentFiles(path).size(), 2u);
    EXPECT_EQ(spool->pendingEvents(), 4u);
    const std::uint64_t bytes_before = spool->pendingBytes();
    ASSERT_TRUE(spool->ack(7).ok());  // half of segment 7-8: it stays
    EXPECT_EQ(segmentFiles(path).size(), 2u);
    EXPECT_EQ(spool->pendingEvents(), 3u);
    EXPECT_LT(spool->pendingBytes(), bytes_before);
    ASSERT_TRUE(spool->ack(3).ok());  // lower than acked: ignored
    EXPECT_EQ(spool->ackedSeq(), 7u);
  }
  auto spool = openSpool(path, options);
  EXPECT_EQ(spool->ackedSeq(), 7u);
  EXPECT_EQ(spool->pendingEvents(), 3u);
  EXPECT_EQ(seqs(readAll(*spool, spool->ackedSeq())), (std::vector<std::uint64_t>{8, 9, 10}));
  EXPECT_FALSE(spool->ack(11).ok());  // beyond lastSeq()
}

TEST(AuditSpoolTest, TornTailIsTruncatedOnOpen) {
  testing::TempDir dir;
  const std::string path = dir.file("spool");
  std::string segment;
  std::string intact;
  {
    auto spool = openSpool(path);
    ASSERT_TRUE(spool->append(lines(1, 3)).ok());
    segment = segmentFiles(path).at(0);
    intact = readFile(segment);
  }
  // A crash in the middle of the next append's write.
  writeFile(segment, intact + "4 1764000000000 0badf00d {\"n\":");
  auto spool = openSpool(path);
  EXPECT_EQ(spool->stats().torn_tails, 1u);
  EXPECT_EQ(spool->stats().corrupted, 0u);
  EXPECT_EQ(readFile(segment), intact);
  EXPECT_EQ(seqs(readAll(*spool)), (std::vector<std::uint64_t>{1, 2, 3}));
  ASSERT_TRUE(spool->append(lines(4, 1)).ok());
  const auto events = readAll(*spool);
  EXPECT_EQ(seqs(events), (std::vector<std::uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(events.back().json, "{\"n\":4}");
}

TEST(AuditSpoolTest, DamagedLineIsSkippedAndCounted) {
  testing::TempDir dir;
  const std::string path = dir.file("spool");
  std::string segment;
  {
    auto spool = openSpool(path);
    ASSERT_TRUE(spool->append(lines(1, 5)).ok());
    segment = segmentFiles(path).at(0);
  }
  std::string text = readFile(segment);
  const auto third = text.find("{\"n\":3}");
  ASSERT_NE(third, std::string::npos);
  text[third + 5] = '9';  // a flipped digit inside the JSON: same length, wrong checksum
  writeFile(segment, text);

  auto spool = openSpool(path);
  EXPECT_EQ(spool->stats().corrupted, 1u);
  EXPECT_EQ(spool->stats().torn_tails, 0u);
  EXPECT_EQ(seqs(readAll(*spool)), (std::vector<std::uint64_t>{1, 2, 4, 5}));
  EXPECT_EQ(spool->pendingEvents(), 4u);
  // Numbering continues above the damaged line's neighbours; acking past it works.
  ASSERT_TRUE(spool->append(lines(6, 1)).ok());
  EXPECT_EQ(spool->lastSeq(), 6u);
  ASSERT_TRUE(spool->ack(4).ok());
  EXPECT_EQ(spool->pendingEvents(), 2u);
  EXPECT_EQ(seqs(readAll(*spool, 4)), (std::vector<std::uint64_t>{5, 6}));
}

TEST(AuditSpoolTest, ReadFromRespectsMaxEventsAndMaxBytes) {
  testing::TempDir dir;
  // Small segments, so reads also cross segment boundaries.
  auto spool = openSpool(dir.file("spool"), {.max_segment_bytes = 100});
  for (int b = 0; b < 5; ++b)
    ASSERT_TRUE(spool->append(lines(10 + 2 * b, 2)).ok());  // 8 bytes each

  auto three = spool->readFrom(0, 3, 1'000'000);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(seqs(*three), (std::vector<std::uint64_t>{1, 2, 3}));

  auto by_bytes = spool->readFrom(3, 100, 20);  // two 8-byte lines fit, a third would not
  ASSERT_TRUE(by_bytes.ok());
  EXPECT_EQ(seqs(*by_bytes), (std::vector<std::uint64_t>{4, 5}));

  auto oversized = spool->readFrom(5, 100, 1);  // never stuck behind a large record
  ASSERT_TRUE(oversized.ok());
  EXPECT_EQ(seqs(*oversized), (std::vector<std::uint64_t>{6}));

  auto rest = spool->readFrom(6, 100, 1'000'000);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(seqs(*rest), (std::vector<std::uint64_t>{7, 8, 9, 10}));

  auto none = spool->readFrom(10, 100, 1'000'000);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto zero = spool->readFrom(0, 0, 1'000'000);
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->empty());
}

TEST(AuditSpoolTest, AppendBeyondMaxTotalBytesIsRefusedAndCounted) {
  testing::TempDir dir;
  auto spool = openSpool(dir.file("spool"), {.max_segment_bytes = 60, .max_total_bytes = 200});
  int next = 1;
  int accepted = 0;
  Status refused;
  for (int i = 0; i < 10 && refused.ok(); ++i) {
    refused = spool->append(lines(next, 2));
    if (refused.ok()) {
      next += 2;
      ++accepted;
    }
  }
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("is full"), std::string::npos) << refused.message();
  EXPECT_GE(accepted, 1);
  EXPECT_EQ(spool->stats().dropped, 2u);
  EXPECT_LE(spool->stats().total_bytes, 200u);
  // The refused batch used up its numbers: the gap tells the server what is missing.
  const auto stored = static_cast<std::uint64_t>(2 * accepted);
  EXPECT_EQ(seqs(readAll(*spool)).back(), stored);
  EXPECT_EQ(spool->lastSeq(), stored + 2);

  // Acknowledging frees whole segments, and appends are accepted again.
  ASSERT_TRUE(spool->ack(stored).ok());
  ASSERT_TRUE(spool->append(lines(next, 2)).ok());
  EXPECT_EQ(seqs(readAll(*spool, stored)), (std::vector<std::uint64_t>{stored + 3, stored + 4}));
  EXPECT_EQ(spool->stats().dropped, 2u);
}

TEST(AuditSpoolTest, LinesWithNewlinesAreRefused) {
  testing::TempDir dir;
  auto spool = openSpool(dir.file("spool"));
  const std::vector<std::string> bad = {"{\"a\":1}", "{\"b\":\n2}"};
  EXPECT_FALSE(spool->append(bad).ok());
  EXPECT_EQ(spool->stats().dropped, 2u);
  EXPECT_EQ(spool->lastSeq(), 2u);  // used up: a visible gap
  EXPECT_TRUE(readAll(*spool).empty());
}

TEST(AuditSpoolTest, ASecondOpenOfTheSameDirectoryIsRefused) {
  testing::TempDir dir;
  auto first = openSpool(dir.file("spool"));
  auto second = AuditSpool::open(dir.file("spool"));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
  first.reset();
  EXPECT_TRUE(AuditSpool::open(dir.file("spool")).ok());
}

TEST(AuditSpoolTest, DamagedAckedFileRefusesToGuess) {
  testing::TempDir dir;
  const std::string path = dir.file("spool");
  {
    auto spool = openSpool(path);
    ASSERT_TRUE(spool->append(lines(1, 2)).ok());
    ASSERT_TRUE(spool->ack(1).ok());
  }
  writeFile(path + "/acked", "1x\n");
  auto spool = AuditSpool::open(path);
  ASSERT_FALSE(spool.ok());
  EXPECT_NE(spool.error().message.find("damaged"), std::string::npos);
}

TEST(AuditSpoolTest, SpoolIdIsStableForADirectoryAndNewForANewOne) {
  testing::TempDir dir;
  std::string id;
  {
    auto spool = openSpool(dir.file("spool"));
    id = spool->spoolId();
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  }
  EXPECT_EQ(openSpool(dir.file("spool"))->spoolId(), id);
  // A recreated directory numbers from 1 again: it must not look like the same stream.
  auto fresh = openSpool(dir.file("recreated"));
  EXPECT_EQ(fresh->lastSeq(), 0u);
  EXPECT_NE(fresh->spoolId(), id);
}

TEST(AuditSpoolTest, ListenerRunsAfterEachSuccessfulAppend) {
  testing::TempDir dir;
  auto spool = openSpool(dir.file("spool"));
  int calls = 0;
  spool->setAppendListener([&] { ++calls; });
  ASSERT_TRUE(spool->append(lines(1, 3)).ok());
  ASSERT_FALSE(spool->append(std::vector<std::string>{"a\nb"}).ok());
  spool->setAppendListener(nullptr);
  ASSERT_TRUE(spool->append(lines(4, 1)).ok());
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace warden::audit
