#include "controlplane/text_diff.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace warden::controlplane {
namespace {

constexpr std::size_t kContext = 3;

// Lines keep their '\n', so "a" (last line, no newline) and "a\n" differ, as in diff.
std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

enum class OpKind : std::uint8_t { kEqual, kDelete, kInsert };

struct Op {
  OpKind kind;
  std::size_t old_index;  // line in the old text (the deleted/equal one, or insert position)
  std::size_t new_index;  // likewise in the new text
};

// The ops for a[a0, a1) against b[b0, b1): LCS when small enough, else replace all.
void diffMiddle(const std::vector<std::string_view>& a, std::size_t a0, std::size_t a1,
                const std::vector<std::string_view>& b, std::size_t b0, std::size_t b1,
                std::vector<Op>& ops) {
  const std::size_t n = a1 - a0;
  const std::size_t m = b1 - b0;
  if (n == 0 || m == 0 || n > kMaxDiffCells / m) {
    for (std::size_t i = 0; i < n; ++i) ops.push_back({OpKind::kDelete, a0 + i, b0});
    for (std::size_t j = 0; j < m; ++j) ops.push_back({OpKind::kInsert, a1, b0 + j});
    return;
  }
  // lcs[i][j]: LCS length of a[a0+i..a1) and b[b0+j..b1). n*m <= kMaxDiffCells implies
  // min(n, m) <= 2000, so every length fits in 16 bits.
  const std::size_t width = m + 1;
  std::vector<std::uint16_t> lcs((n + 1) * width, 0);
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      lcs[i * width + j] = a[a0 + i] == b[b0 + j]
                               ? static_cast<std::uint16_t>(lcs[(i + 1) * width + j + 1] + 1)
                               : std::max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[a0 + i] == b[b0 + j]) {
      ops.push_back({OpKind::kEqual, a0 + i, b0 + j});
      ++i;
      ++j;
    } else if (j == m || (i < n && lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])) {
      ops.push_back({OpKind::kDelete, a0 + i, b0 + j});
      ++i;
    } else {
      ops.push_back({OpKind::kInsert, a0 + i, b0 + j});
      ++j;
    }
  }
}

// GNU diff's range: "l" for one line, "l,s" otherwise; an empty range names the line
// before it.
std::string range(std::size_t first_index, std::size_t count) {
  if (count == 0) return std::to_string(first_index) + ",0";
  if (count == 1) return std::to_string(first_index + 1);
  return std::to_string(first_index + 1) + "," + std::to_string(count);
}

void appendLine(std::string& out, char marker, std::string_view line) {
  out.push_back(marker);
  out.append(line);
  if (line.empty() || line.back() != '\n') out.append("\n\\ No newline at end of file\n");
}

}  // namespace

std::string unifiedDiff(std::string_view old_text, std::string_view new_text,
                        std::string_view old_label, std::string_view new_label) {
  if (old_text == new_text) return {};
  const auto a = splitLines(old_text);
  const auto b = splitLines(new_text);

  std::size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  std::size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }

  std::vector<Op> ops;
  ops.reserve(a.size() + b.size());
  for (std::size_t i = 0; i < prefix; ++i) ops.push_back({OpKind::kEqual, i, i});
  diffMiddle(a, prefix, a.size() - suffix, b, prefix, b.size() - suffix, ops);
  for (std::size_t k = suffix; k > 0; --k) {
    ops.push_back({OpKind::kEqual, a.size() - k, b.size() - k});
  }

  std::string out;
  out.append("--- ").append(old_label).append("\n");
  out.append("+++ ").append(new_label).append("\n");

  std::size_t pos = 0;
  while (pos < ops.size()) {
    // The next change; a hunk is the changes whose equal gaps are at most 2*context long,
    // padded with up to `context` equal lines on each side.
    while (pos < ops.size() && ops[pos].kind == OpKind::kEqual) ++pos;
    if (pos == ops.size()) break;
    const std::size_t begin = pos >= kContext ? pos - kContext : 0;
    std::size_t last_change = pos;
    std::size_t scan = pos;
    while (scan < ops.size()) {
      if (ops[scan].kind != OpKind::kEqual) {
        last_change = scan;
        ++scan;
        continue;
      }
      std::size_t run = 0;
      while (scan + run < ops.size() && ops[scan + run].kind == OpKind::kEqual) ++run;
      if (scan + run == ops.size() || run > 2 * kContext) break;
      scan += run;
    }
    const std::size_t end = std::min(ops.size(), last_change + 1 + kContext);

    std::size_t old_count = 0;
    std::size_t new_count = 0;
    for (std::size_t k = begin; k < end; ++k) {
      if (ops[k].kind != OpKind::kInsert) ++old_count;
      if (ops[k].kind != OpKind::kDelete) ++new_count;
    }
    out.append("@@ -").append(range(ops[begin].old_index, old_count));
    out.append(" +").append(range(ops[begin].new_index, new_count)).append(" @@\n");
    for (std::size_t k = begin; k < end; ++k) {
      switch (ops[k].kind) {
        case OpKind::kEqual: appendLine(out, ' ', a[ops[k].old_index]); break;
        case OpKind::kDelete: appendLine(out, '-', a[ops[k].old_index]); break;
        case OpKind::kInsert: appendLine(out, '+', b[ops[k].new_index]); break;
      }
    }
    pos = end;
  }
  return out;
}

}  // namespace warden::controlplane
