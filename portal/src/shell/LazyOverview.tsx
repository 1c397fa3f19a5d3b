import { ErrorBox } from "../ui/ErrorBox";
import { useLoad } from "../ui/useLoad";

// The Overview alone draws with cytoscape and chart.js (most of the bundle's weight): it is
// its own chunk, fetched the first time it is shown, so the other pages load without them.
const loadOverview = () => import("../overview/OverviewPage");

export function LazyOverview() {
  const page = useLoad(loadOverview, []);
  if (page.error) return <ErrorBox error={page.error} />;
  if (!page.data) return <p class="muted">Loading…</p>;
  const { OverviewPage } = page.data;
  return <OverviewPage />;
}
