import { AgentDetail } from "../agents/AgentDetail";
import { AgentsPage } from "../agents/AgentsPage";
import { PolicyEditorPage } from "../editor/PolicyEditorPage";
import { SystemHealthPage } from "../health/SystemHealthPage";
import { LayersPage } from "../layers/LayersPage";
import { LogsPage } from "../logs/LogsPage";
import { NetworkAccessPage } from "../policies/NetworkAccessPage";
import { WhatIfPage } from "../policies/WhatIfPage";
import { LazyOverview } from "./LazyOverview";
import { Nav } from "./Nav";
import { NotFound } from "./NotFound";
import { currentPath, onLinkClick } from "./router";
import { resolve } from "./routes";
import { SessionBanner } from "./SessionBanner";
import { TopBar } from "./TopBar";

function Page() {
  const route = resolve(currentPath.value);
  switch (route.page) {
    case "agents":
      return <AgentsPage />;
    case "agent":
      return <AgentDetail key={route.name} name={route.name} />;
    case "logs":
      return <LogsPage />;
    case "network-access":
      return <NetworkAccessPage />;
    case "overview":
      return <LazyOverview />;
    case "enforcement-layers":
      return <LayersPage />;
    case "system-health":
      return <SystemHealthPage />;
    case "policy-editor":
      return <PolicyEditorPage />;
    case "what-if":
      return <WhatIfPage />;
    case "not-found":
      return <NotFound />;
  }
}

export function App() {
  return (
    <div class="app" onClick={onLinkClick}>
      <TopBar />
      <SessionBanner />
      <div class="body">
        <Nav />
        <main class="main">
          <Page />
        </main>
      </div>
    </div>
  );
}
