import { Tabs } from "../components/ui";
import { navigate, routeStore } from "../router";
import { useStore } from "../store";
import { NodesSettings } from "./settings/Nodes";
import { NotificationSettings } from "./settings/Notifications";
import { SecuritySettings } from "./settings/Security";
import { AboutSettings, SystemSettings, TransferSettings } from "./settings/System";
import { ThresholdSettings } from "./settings/Thresholds";

const TABS: [string, string][] = [
  ["nodes", "Nodes"],
  ["notifications", "Notifications"],
  ["thresholds", "Thresholds"],
  ["security", "Security"],
  ["transfer", "Export / import"],
  ["system", "System"],
  ["about", "About"],
];

export function SettingsPage() {
  const route = useStore(routeStore);
  const tab = TABS.some(([id]) => id === route.sub) ? route.sub! : "nodes";
  return (
    <div class="page">
      <h1>Settings</h1>
      <Tabs tabs={TABS} current={tab} onSelect={(id) => navigate(`settings/${id}`)} label="Settings sections" />
      <div role="tabpanel" aria-labelledby={`tab-${tab}`} class="tab-panel">
        {tab === "nodes" ? <NodesSettings /> : null}
        {tab === "notifications" ? <NotificationSettings /> : null}
        {tab === "thresholds" ? <ThresholdSettings /> : null}
        {tab === "security" ? <SecuritySettings /> : null}
        {tab === "transfer" ? <TransferSettings /> : null}
        {tab === "system" ? <SystemSettings /> : null}
        {tab === "about" ? <AboutSettings /> : null}
      </div>
    </div>
  );
}
