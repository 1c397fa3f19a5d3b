export function formatUnix(seconds: number | undefined | null): string {
  if (!seconds) return "";
  return new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function tagsText(tags: Record<string, string> | undefined): string {
  return Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

// An empty list is an assignment without roles (the agent may get tokens for that audience).
export function rolesText(roles: Record<string, string[]> | undefined): string {
  return Object.entries(roles ?? {})
    .map(([aud, r]) => `${aud}: ${r.length ? r.join(", ") : "(no roles)"}`)
    .join("; ");
}

/** "1 entry", "3 entries": a count with its noun. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
