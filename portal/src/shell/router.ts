import { signal } from "@preact/signals";

/** The current path (with query), driven by the History API. */
export const currentPath = signal(location.pathname + location.search);

export function navigate(to: string, replace = false): void {
  if (to === currentPath.value) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  currentPath.value = to;
}

export function startRouter(): void {
  addEventListener("popstate", () => (currentPath.value = location.pathname + location.search));
}

/** Lets ordinary <a href> links navigate in-app; modified clicks still open new tabs. */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.("a");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
}
