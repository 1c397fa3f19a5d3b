import type { LogRow } from "./buffer";

export function toJsonLines(rows: LogRow[]): string {
  return rows.map((r) => JSON.stringify(r.event)).join("\n") + (rows.length ? "\n" : "");
}

/** A Blob URL keeps the download same-origin (CSP) and off the server. */
export function downloadJsonLines(rows: LogRow[], filename: string): void {
  const url = URL.createObjectURL(new Blob([toJsonLines(rows)], { type: "application/x-ndjson" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
