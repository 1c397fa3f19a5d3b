// Unified diff: GNU diff -u output for known cases, a patch round trip for random ones, and
// the bounded fallback.
#include "controlplane/text_diff.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <vector>

namespace warden::controlplane {
namespace {

std::string diff(std::string_view a, std::string_view b) {
  return unifiedDiff(a, b, "old", "new");
}

TEST(TextDiff, EqualTextsGiveNothing) {
  EXPECT_EQ(diff("", ""), "");
  EXPECT_EQ(diff("a\nb\n", "a\nb\n"), "");
}

// Expected outputs were produced by GNU diffutils: diff -u --label old --label new.
TEST(TextDiff, MatchesGnuDiffHunks) {
  EXPECT_EQ(
      diff("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n", "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\n"),
      "--- old\n+++ new\n"
      "@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n"
      "@@ -11,3 +11,4 @@\n k\n l\n m\n+n\n");
  // Changes five equal lines apart share one hunk.
  EXPECT_EQ(diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\nX\n4\n5\n6\n7\n8\nY\n10\n"),
            "--- old\n+++ new\n"
            "@@ -1,10 +1,10 @@\n 1\n 2\n-3\n+X\n 4\n 5\n 6\n 7\n 8\n-9\n+Y\n 10\n");
}

TEST(TextDiff, EmptySidesAndMissingFinalNewline) {
  EXPECT_EQ(diff("", "one\ntwo\n"), "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+one\n+two\n");
  EXPECT_EQ(diff("one\ntwo\n", ""), "--- old\n+++ new\n@@ -1,2 +0,0 @@\n-one\n-two\n");
  EXPECT_EQ(diff("x\ny", "x\ny\n"),
            "--- old\n+++ new\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+y\n");
}

TEST(TextDiff, LabelsAreUsedAsGiven) {
  const std::string out = unifiedDiff("a\n", "b\n", "policy/x v1", "policy/x v2");
  EXPECT_EQ(out.rfind("--- policy/x v1\n+++ policy/x v2\n", 0), 0u);
}

// Rebuilds the new text from the old one and the diff; checks counts in hunk headers.
std::string applyPatch(const std::string& old_text, const std::string& patch) {
  std::vector<std::string> old_lines;
  {
    std::size_t start = 0;
    while (start < old_text.size()) {
      const auto nl = old_text.find('\n', start);
      const auto end = nl == std::string::npos ? old_text.size() : nl + 1;
      old_lines.push_back(old_text.substr(start, end - start));
      start = end;
    }
  }
  std::istringstream in(patch);
  std::string line;
  std::getline(in, line);  // ---
  std::getline(in, line);  // +++
  std::string out;
  std::size_t next_old = 0;  // 0-based index of the next old line not yet copied
  std::string* last = nullptr;
  std::string pending;
  while (std::getline(in, line)) {
    if (line.rfind("@@ -", 0) == 0) {
      out += pending;
      pending.clear();
      std::size_t old_start = 0, old_count = 1, new_start = 0, new_count = 1;
      const auto comma_or_space = line.find_first_of(", ", 4);
      old_start = std::stoul(line.substr(4));
      if (line[comma_or_space] == ',') old_count = std::stoul(line.substr(comma_or_space + 1));
      const auto plus = line.find('+');
      new_start = std::stoul(line.substr(plus + 1));
      const auto c2 = line.find_first_of(", ", plus);
      if (line[c2] == ',') new_count = std::stoul(line.substr(c2 + 1));
      (void)new_start;
      const std::size_t first = old_count == 0 ? old_start : old_start - 1;
      while (next_old < first) out += old_lines[next_old++];
      std::size_t seen_old = 0, seen_new = 0;
      while (seen_old < old_count || seen_new < new_count) {
        EXPECT_TRUE(std::getline(in, line));
        if (line.rfind("\\ ", 0) == 0) {
          if (last && !last->empty() && last->back() == '\n') last->pop_back();
          continue;
        }
        const char marker = line[0];
        std::string text = line.substr(1) + "\n";
        if (marker == ' ' || marker == '-') {
          EXPECT_EQ(old_lines.at(next_old).substr(0, text.size() - 1),
                    text.substr(0, text.size() - 1));
          ++next_old;
          ++seen_old;
        }
        if (marker == ' ' || marker == '+') {
          out += pending;
          pending = text;
          last = &pending;
          ++seen_new;
        } else {
          last = nullptr;
        }
      }
      EXPECT_EQ(seen_old, old_count);
      EXPECT_EQ(seen_new, new_count);
    } else if (line.rfind("\\ ", 0) == 0) {
      if (last && !last->empty() && last->back() == '\n') last->pop_back();
    }
  }
  out += pending;
  while (next_old < old_lines.size()) out += old_lines[next_old++];
  return out;
}

std::string randomText(std::mt19937& rng, int lines) {
  std::string out;
  std::uniform_int_distribution<int> pick(0, 5);
  for (int i = 0; i < lines; ++i) out += std::string(1, static_cast<char>('a' + pick(rng))) + "\n";
  if (!out.empty() && pick(rng) == 0) out.pop_back();  // sometimes no final newline
  return out;
}

TEST(TextDiff, RandomDiffsApplyBack) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> size(0, 30);
  for (int round = 0; round < 300; ++round) {
    const std::string a = randomText(rng, size(rng));
    const std::string b = randomText(rng, size(rng));
    const std::string patch = diff(a, b);
    if (a == b) {
      EXPECT_TRUE(patch.empty());
      continue;
    }
    EXPECT_EQ(applyPatch(a, patch), b) << "round " << round << "\n" << patch;
  }
}

TEST(TextDiff, HugeInputsFallBackToReplacingTheMiddle) {
  std::string a = "keep\n";
  std::string b = "keep\n";
  for (int i = 0; i < 2500; ++i) {
    a += "old " + std::to_string(i) + "\n";
    b += "new " + std::to_string(i) + "\n";
  }
  a += "tail\n";
  b += "tail\n";
  const std::string patch = diff(a, b);  // 2500 x 2500 lines > kMaxDiffCells
  EXPECT_NE(patch.find("@@ -1,2502 +1,2502 @@\n keep\n-old 0\n"), std::string::npos);
  EXPECT_EQ(applyPatch(a, patch), b);
}

}  // namespace
}  // namespace warden::controlplane
