/** The [start, end) offsets of 1-based `line` in `text` (clamped to the last line). */
export function lineRange(text: string, line: number): [number, number] {
  let start = 0;
  for (let n = 1; n < line; n++) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) break;
    start = nl + 1;
  }
  const nl = text.indexOf("\n", start);
  return [start, nl < 0 ? text.length : nl];
}
