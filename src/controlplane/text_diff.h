// A unified diff of two texts, line by line, for showing what changed between two versions
// of a policy or governance document (the change log and the API's diff view).
//
// The edit script is a longest common subsequence of lines after the common prefix and
// suffix are set aside, so a typical edit of a large document costs little. The LCS table
// is quadratic: when the differing middle parts would need more than kMaxDiffCells cells
// the diff degrades to "delete all of the old middle, insert all of the new" (still a
// correct diff, only not minimal) instead of using unbounded memory and time.
// Output follows GNU diff -u: `--- old_label`, `+++ new_label`, hunks `@@ -l,s +l,s @@`
// with 3 lines of context, and `\ No newline at end of file` where it applies. Equal texts
// give an empty string.
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace warden::controlplane {

inline constexpr std::size_t kMaxDiffCells = 4'000'000;  // ~8 MB of 16-bit cells at most

std::string unifiedDiff(std::string_view old_text, std::string_view new_text,
                        std::string_view old_label, std::string_view new_label);

}  // namespace warden::controlplane
