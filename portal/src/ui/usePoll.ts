import { useEffect } from "preact/hooks";

/** Calls `tick` every `ms` while the page is shown (not while the tab is hidden). */
export function usePoll(tick: () => void, ms: number): void {
  useEffect(() => {
    const id = setInterval(() => {
      if (document.visibilityState !== "hidden") tick();
    }, ms);
    return () => clearInterval(id);
  }, [tick, ms]);
}
