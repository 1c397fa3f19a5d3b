export type ParsedTags = { ok: true; tags: Record<string, string> } | { ok: false; error: string };

export function tagsToText(tags: Record<string, string> | undefined): string {
  return Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
}

/** One `key=value` per line; the store validates the names and values themselves. */
export function parseTags(text: string): ParsedTags {
  const tags: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) return { ok: false, error: `line ${i + 1}: expected key=value` };
    const key = line.slice(0, eq).trim();
    if (key in tags) return { ok: false, error: `line ${i + 1}: tag "${key}" given twice` };
    tags[key] = line.slice(eq + 1).trim();
  }
  return { ok: true, tags };
}
