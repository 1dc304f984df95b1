import { useMemo, useState } from "preact/hooks";
import { align, fetchStorageSeries, RANGES, rangeWindow, type Range } from "../charts";
import { Chart } from "../components/Chart";
import { HealthSections } from "../components/HealthSections";
import { ErrorBox, Section, StatusDot, UsageBar, useAsync } from "../components/ui";
import { formatBytes } from "../format";
import { nodeLabel, pveInstances } from "../instances";
import { stateStore, useStore } from "../store";
import type { Storage as StorageItem } from "../types";

function usageOf(item: StorageItem) {
  return { total: item.total, used: item.used, free: item.free, usage: item.usage, unknownReason: item.usage === null ? "storage did not report its size" : null };
}

function storageStatus(item: StorageItem): string {
  if (!item.enabled) return "disabled";
  if (!item.active) return "inactive";
  return item.status || "active";
}

function trendSubject(item: StorageItem, severalInstances: boolean): string {
  if (item.shared) return severalInstances ? `${item.name} · ${item.instance}` : item.name;
  return `${item.name} on ${nodeLabel(item.node, item.instance, severalInstances)}`;
}

interface TableProps {
  items: StorageItem[];
  onSelect: (id: string) => void;
  selected: string | null;
  severalInstances: boolean;
}

function StorageTable({ items, onSelect, selected, severalInstances }: TableProps) {
  return (
    <div class="table-wrap">
      <table class="table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Node</th>
            <th scope="col">Type</th>
            <th scope="col">Content</th>
            <th scope="col">Status</th>
            <th scope="col">Usage</th>
            <th scope="col">Free</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.id} class={item.id === selected ? "selected" : ""}>
              <td>
                <button type="button" class="link-button" onClick={() => onSelect(item.id)} aria-pressed={item.id === selected}>
                  {item.name}
                </button>
                {item.stale ? <span class="badge warn">stale</span> : null}
              </td>
              <td>{nodeLabel(item.shared ? "shared" : item.node, item.instance, severalInstances)}</td>
              <td>{item.type}</td>
              <td class="small">{item.content}</td>
              <td>
                <StatusDot status={storageStatus(item)} />
              </td>
              <td class="bar-cell">
                <UsageBar usage={usageOf(item)} label={`Usage of ${item.name}`} />
              </td>
              <td>{formatBytes(item.free)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function StoragePage() {
  const state = useStore(stateStore);
  const [selected, setSelected] = useState<string | null>(null);
  const [range, setRange] = useState<Range>("24h");
  const { data, error, reload } = useAsync(
    (signal) => (selected ? fetchStorageSeries(range, selected, signal) : Promise.resolve(null)),
    [range, selected],
  );
  const trend = useMemo(() => (data ? align(data, ["usage"]) : null), [data]);
  const span = useMemo(() => rangeWindow(range), [data, range]);

  const severalInstances = pveInstances(state).length > 1;
  // A shared storage appears once per node; show it once per connection. Local storage is grouped
  // by connection and node, because two connections may both have a node called "pve1".
  const shared = new Map<string, StorageItem>();
  const local = new Map<string, StorageItem[]>();
  for (const item of state.storage) {
    if (item.shared) {
      if (!shared.has(`${item.instance}/${item.name}`)) shared.set(`${item.instance}/${item.name}`, item);
    } else {
      const group = nodeLabel(item.node, item.instance, severalInstances);
      const list = local.get(group) ?? [];
      list.push(item);
      local.set(group, list);
    }
  }
  const selectedItem = state.storage.find((item) => item.id === selected);
  return (
    <div class="page">
      <h1>Storage</h1>
      {state.storage.length === 0 ? <p class="muted">No storage reported yet.</p> : null}
      {selectedItem ? (
        <Section
          title={`Trend: ${trendSubject(selectedItem, severalInstances)}`}
          actions={
            <div class="segmented" role="group" aria-label="Trend range">
              {RANGES.map((item) => (
                <button type="button" key={item} class={item === range ? "active" : ""} aria-pressed={item === range} onClick={() => setRange(item)}>
                  {item}
                </button>
              ))}
            </div>
          }
        >
          <ErrorBox error={error} onRetry={reload} />
          {trend ? <Chart title="Usage (%)" unit="percent" window={span} data={trend} series={[{ label: "Usage", color: "#f59e0b" }]} /> : null}
        </Section>
      ) : null}
      {shared.size ? (
        <Section title="Shared storage">
          <StorageTable items={[...shared.values()]} onSelect={setSelected} selected={selected} severalInstances={severalInstances} />
        </Section>
      ) : null}
      {[...local.keys()].sort().map((group) => (
        <Section title={`Node ${group}`} key={group}>
          <StorageTable items={local.get(group)!} onSelect={setSelected} selected={selected} severalInstances={severalInstances} />
        </Section>
      ))}
      <HealthSections disks={state.physicalDisks} ceph={state.cephClusters} jobs={state.replicationJobs} severalInstances={severalInstances} />
    </div>
  );
}
