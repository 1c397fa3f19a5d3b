import { isMap, isSeq, parseDocument } from "yaml";

import type { Fix } from "./scan";

/**
 * The candidate document a one-click fix proposes, edited with the YAML library's document
 * model so the author's comments and layout survive. The server validates the result like
 * any other change; nothing here decides what is valid.
 */
export function applyFix(fix: Fix, content: string): string {
  const doc = parseDocument(content);
  if (doc.errors.length > 0) throw new Error(`the current document does not parse: ${doc.errors[0]!.message}`);
  switch (fix.kind) {
    case "enable-governance":
      if (!isMap(doc.contents)) throw new Error("the governance block is not a mapping");
      doc.set("enabled", true);
      return doc.toString();
    case "narrow-allow-entry": {
      const allow = doc.get("allow");
      if (!isSeq(allow)) throw new Error("the policy has no allow list");
      const index = allow.items.findIndex((item) => isMap(item) && item.items.length === 1 && item.get(fix.entry.kind) === fix.entry.value);
      if (index < 0) throw new Error(`the allow list no longer has ${fix.entry.kind} ${fix.entry.value}`);
      const existing = new Set(allow.items.filter((i) => isMap(i) && i.has("id")).map((i) => String((i as { get(k: string): unknown }).get("id"))));
      const added = fix.ids.filter((id) => !existing.has(id)).map((id) => {
        const node = doc.createNode({ id });
        node.flow = true;
        return node;
      });
      allow.items.splice(index, 1, ...added);
      return doc.toString();
    }
  }
}

export function fixLabel(fix: Fix): string {
  switch (fix.kind) {
    case "enable-governance":
      return "Switch governance on";
    case "narrow-allow-entry":
      return `Replace with ${fix.ids.length} exact ID${fix.ids.length === 1 ? "" : "s"}`;
  }
}

export function fixComment(fix: Fix): string {
  switch (fix.kind) {
    case "enable-governance":
      return "security scan: switch governance on";
    case "narrow-allow-entry":
      return `security scan: replace allow entry ${fix.entry.kind} ${fix.entry.value} with the IDs seen (${fix.ids.join(", ")})`;
  }
}
