import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../api";
import { indexBackups } from "../backups";
import { align, fetchSeries, RANGES, rangeWindow, type Range, type SeriesSet } from "../charts";
import { formatAge, formatBytes, formatDuration, formatRate, formatTime, nowSeconds } from "../format";
import { nodeLabel, pveInstances } from "../instances";
import { closeDetail, selectionStore } from "../selection";
import { stateStore, useStore } from "../store";
import type { Guest, Node, PulseState } from "../types";
import { Chart } from "./Chart";
import { Drawer, ErrorBox, Field, PercentBar, StatusDot, Stopped, Tags, Unknown, useAction, useAsync, UsageBar } from "./ui";

const COLORS = { cpu: "#3b82f6", memory: "#10b981", disk: "#f59e0b", in: "#8b5cf6", out: "#ec4899" };

function Charts({ resourceId, kind }: { resourceId: string; kind: "guest" | "node" }) {
  const [range, setRange] = useState<Range>("1h");
  const { data, error, loading, reload } = useAsync<SeriesSet>((signal) => fetchSeries(range, resourceId, signal), [range, resourceId]);
  const series = data ?? {};
  const usage = useMemo(() => align(series, ["cpu", "memory", "disk"]), [data]);
  const network = useMemo(() => align(series, ["netin", "netout"]), [data]);
  const diskio = useMemo(() => align(series, ["diskread", "diskwrite"]), [data]);
  const span = useMemo(() => rangeWindow(range), [data, range]);
  return (
    <section class="detail-section" aria-labelledby="charts-heading">
      <div class="detail-section-header">
        <h3 id="charts-heading">History</h3>
        <div class="segmented" role="group" aria-label="Chart range">
          {RANGES.map((item) => (
            <button type="button" key={item} class={item === range ? "active" : ""} aria-pressed={item === range} onClick={() => setRange(item)}>
              {item}
            </button>
          ))}
        </div>
      </div>
      <ErrorBox error={error} onRetry={reload} />
      {loading && !data ? <p class="muted">Loading charts…</p> : null}
      {data ? (
        <div class="charts">
          <Chart
            title="CPU, memory and disk (%)"
            unit="percent"
            window={span}
            data={usage}
            series={[
              { label: "CPU", color: COLORS.cpu },
              { label: "Memory", color: COLORS.memory },
              { label: "Disk", color: COLORS.disk },
            ]}
          />
          {kind === "guest" ? (
            <>
              <Chart title="Network" unit="rate" window={span} data={network} series={[{ label: "In", color: COLORS.in }, { label: "Out", color: COLORS.out }]} />
              <Chart title="Disk I/O" unit="rate" window={span} data={diskio} series={[{ label: "Read", color: COLORS.in }, { label: "Write", color: COLORS.out }]} />
            </>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

function ConsoleUrl({ guest }: { guest: Guest }) {
  const path = `/api/guests/${encodeURIComponent(guest.id)}/metadata`;
  const { data, error, reload } = useAsync<{ customUrl?: string } | null>((signal) => api.get(path, signal), [guest.id]);
  const [value, setValue] = useState("");
  // A ref, not state: the effect below may run after an input event that its render did not see.
  const edited = useRef(false);
  const action = useAction();
  // The stored URL fills the field when it arrives, unless the user has typed in it already.
  useEffect(() => {
    if (!edited.current) setValue(data?.customUrl ?? "");
  }, [data]);
  const save = () =>
    action.run(async () => {
      const url = value.trim();
      if (url && !/^https?:\/\//i.test(url)) throw new Error("The console URL must start with http:// or https://");
      if (url) {
        await api.put(path, { customUrl: url });
      } else {
        try {
          await api.delete(path);
        } catch (error) {
          // 404: nothing is stored, so there is nothing left to remove.
          if ((error as { status?: number }).status !== 404) throw error;
        }
      }
      edited.current = false;
      reload();
      return url ? "Saved" : "Console URL removed";
    });
  return (
    <section class="detail-section" aria-labelledby="console-heading">
      <h3 id="console-heading">Console URL</h3>
      {data?.customUrl ? (
        <p>
          <a href={data.customUrl} target="_blank" rel="noopener noreferrer">
            Open {data.customUrl}
          </a>
        </p>
      ) : null}
      {error && (error as { status?: number }).status !== 404 ? <ErrorBox error={error} /> : null}
      <div class="inline-form">
        <Field id="console-url" label="Custom console URL">
          <input
            id="console-url"
            type="url"
            value={value}
            placeholder="https://host:8006/"
            onInput={(event) => {
              edited.current = true;
              setValue(event.currentTarget.value);
            }}
          />
        </Field>
        <button type="button" class="button" disabled={action.busy} onClick={save}>
          Save
        </button>
      </div>
      <ErrorBox error={action.error} />
      {action.message ? <p role="status" class="muted">{action.message}</p> : null}
    </section>
  );
}

/** The connection id, with the cluster its nodes report ("demo, cluster demo"). */
function connectionText(instance: string, state: PulseState): string {
  const node = state.nodes.find((item) => item.instance === instance);
  if (!node) return instance;
  return `${instance}, ${node.clusterName ? `cluster ${node.clusterName}` : "standalone node"}`;
}

function agentText(guest: Guest): string {
  if (guest.type === "lxc") return "not applicable";
  if (!guest.agentEnabled) return "disabled";
  return guest.agentStatus ?? "enabled";
}

function GuestDetail({ guest, state }: { guest: Guest; state: PulseState }) {
  const now = nowSeconds();
  const backup = indexBackups(state)(guest, now);
  const snapshots = state.pveBackups.guestSnapshots.filter((item) => item.instance === guest.instance && item.vmid === guest.vmid);
  const backups = [
    ...state.pveBackups.storageBackups
      .filter((item) => item.instance === guest.instance && item.vmid === guest.vmid)
      .map((item) => ({ id: item.id, where: `${item.storage} (${item.node})`, time: item.ctime, size: item.size, verification: item.verification })),
    ...state.pbsBackups
      .filter((item) => item.vmid === String(guest.vmid) && (item.backupType === "vm") === (guest.type === "qemu"))
      .map((item) => ({
        id: item.id,
        where: `PBS ${item.datastore}${item.namespace ? `/${item.namespace}` : ""}`,
        time: item.backupTime,
        size: item.size,
        verification: item.verification,
      })),
  ].sort((a, b) => (b.time ?? 0) - (a.time ?? 0));
  const running = guest.status === "running";
  const severalInstances = pveInstances(state).length > 1;
  return (
    <>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusDot status={guest.status} />
        </dd>
        <dt>Type</dt>
        <dd>{guest.type === "qemu" ? "Virtual machine" : "Container"} {guest.vmid}</dd>
        <dt>Node</dt>
        <dd>{nodeLabel(guest.node, guest.instance, severalInstances)}</dd>
        <dt>Connection</dt>
        <dd>{connectionText(guest.instance, state)}</dd>
        <dt>CPU</dt>
        <dd>
          {running ? <PercentBar percent={guest.cpu === null ? null : guest.cpu * 100} label="CPU" /> : <Stopped />}{" "}
          {guest.cpus ? `${running ? "" : "("}${guest.cpus} ${guest.cpus === 1 ? "core" : "cores"}${running ? "" : ")"}` : null}
        </dd>
        <dt>Memory</dt>
        <dd>{running ? <UsageBar usage={guest.memory} label="Memory" /> : <Stopped />}</dd>
        <dt>Disk</dt>
        <dd>{running ? <UsageBar usage={guest.disk} label="Disk" /> : <Stopped />}</dd>
        <dt>Network</dt>
        <dd>
          {running ? (
            <>
              in {formatRate(guest.networkIn)}, out {formatRate(guest.networkOut)}
            </>
          ) : (
            <Stopped />
          )}
        </dd>
        <dt>Disk I/O</dt>
        <dd>
          {running ? (
            <>
              read {formatRate(guest.diskRead)}, write {formatRate(guest.diskWrite)}
            </>
          ) : (
            <Stopped />
          )}
        </dd>
        <dt>Uptime</dt>
        <dd>{running ? formatDuration(guest.uptime) : <Stopped />}</dd>
        <dt>OS</dt>
        <dd>{guest.osName ?? <Unknown reason={guest.type === "qemu" ? "guest agent did not report the OS" : null} />}</dd>
        <dt>Guest agent</dt>
        <dd>{agentText(guest)}</dd>
        <dt>IP addresses</dt>
        <dd>{guest.ipAddresses.length ? guest.ipAddresses.join(", ") : <Unknown reason="no address reported" />}</dd>
        <dt>Tags</dt>
        <dd>{guest.tags.length ? <Tags tags={guest.tags} /> : "none"}</dd>
        {guest.pool ? (
          <>
            <dt>Pool</dt>
            <dd>{guest.pool}</dd>
          </>
        ) : null}
        {guest.haState ? (
          <>
            <dt>HA</dt>
            <dd>{guest.haState}</dd>
          </>
        ) : null}
        <dt>Last backup</dt>
        <dd>
          <span class={`freshness freshness-${backup.freshness}`}>
            {backup.freshness === "missing" ? "none found" : `${formatAge(backup.lastBackup, now)} (${backup.freshness})`}
          </span>
        </dd>
      </dl>
      <Charts resourceId={guest.id} kind="guest" />
      <section class="detail-section" aria-labelledby="fs-heading">
        <h3 id="fs-heading">Filesystems</h3>
        {guest.filesystems.length === 0 ? (
          <p class="muted">{guest.type === "qemu" ? "None reported (needs a running guest agent)." : "None reported."}</p>
        ) : (
          <table class="table compact">
            <thead>
              <tr>
                <th scope="col">Mount</th>
                <th scope="col">Type</th>
                <th scope="col">Device</th>
                <th scope="col">Used</th>
              </tr>
            </thead>
            <tbody>
              {guest.filesystems.map((fs) => (
                <tr key={fs.mountpoint}>
                  <td>{fs.mountpoint}</td>
                  <td>{fs.type ?? "-"}</td>
                  <td>{fs.device ?? "-"}</td>
                  <td>
                    {fs.total ? (
                      <UsageBar
                        usage={{ total: fs.total, used: fs.used, free: null, usage: fs.used === null ? null : (fs.used / fs.total) * 100, unknownReason: null }}
                        label={`Usage of ${fs.mountpoint}`}
                      />
                    ) : (
                      <Unknown />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="detail-section" aria-labelledby="snap-heading">
        <h3 id="snap-heading">Snapshots ({snapshots.length})</h3>
        {snapshots.length === 0 ? (
          <p class="muted">No snapshots.</p>
        ) : (
          <ul class="plain-list">
            {snapshots.map((snapshot) => (
              <li key={snapshot.id}>
                <strong>{snapshot.name}</strong> · {formatTime(snapshot.time)}
                {snapshot.vmstate ? " · with RAM" : ""}
                {snapshot.description ? <span class="muted"> · {snapshot.description}</span> : null}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="detail-section" aria-labelledby="backup-heading">
        <h3 id="backup-heading">Backups ({backups.length})</h3>
        {backups.length === 0 ? (
          <p class="muted">No backups found on PVE storage or PBS.</p>
        ) : (
          <ul class="plain-list">
            {backups.slice(0, 20).map((item) => (
              <li key={item.id}>
                {formatTime(item.time)} · {item.where} · {formatBytes(item.size)}
                {item.verification ? ` · verify: ${item.verification}` : ""}
              </li>
            ))}
          </ul>
        )}
      </section>
      <ConsoleUrl guest={guest} />
    </>
  );
}

function NodeDetail({ node, state }: { node: Node; state: PulseState }) {
  const guests = [...state.vms, ...state.containers].filter((guest) => guest.instance === node.instance && guest.node === node.name);
  return (
    <>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusDot status={node.status} />
        </dd>
        <dt>Host</dt>
        <dd>{node.host}</dd>
        <dt>CPU</dt>
        <dd>
          <PercentBar percent={node.cpu === null ? null : node.cpu * 100} label="CPU" /> {node.cpus ? `${node.cpus} threads` : null}
        </dd>
        <dt>CPU model</dt>
        <dd>{node.cpuModel ?? <Unknown />}</dd>
        <dt>Memory</dt>
        <dd>
          <UsageBar usage={node.memory} label="Memory" />
        </dd>
        <dt>Swap</dt>
        <dd>
          <UsageBar usage={node.swap} label="Swap" />
        </dd>
        <dt>Root disk</dt>
        <dd>
          <UsageBar usage={node.disk} label="Root disk" />
        </dd>
        <dt>Load</dt>
        <dd>{node.loadAverage ? node.loadAverage.map((value) => value.toFixed(2)).join(" / ") : <Unknown />}</dd>
        <dt>Uptime</dt>
        <dd>{formatDuration(node.uptime)}</dd>
        <dt>PVE version</dt>
        <dd>{node.pveVersion ?? <Unknown />}</dd>
        <dt>Kernel</dt>
        <dd>{node.kernelVersion ?? <Unknown />}</dd>
        <dt>Cluster</dt>
        <dd>{node.clusterName ?? "standalone"}</dd>
        <dt>Connection</dt>
        <dd>{node.instance}</dd>
        <dt>Guests</dt>
        <dd>
          {guests.length} ({guests.filter((guest) => guest.status === "running").length} running)
        </dd>
      </dl>
      <Charts resourceId={node.id} kind="node" />
    </>
  );
}

export function DetailDrawer() {
  const selection = useStore(selectionStore);
  const state = useStore(stateStore);
  if (!selection) return null;
  if (selection.kind === "guest") {
    const guest = [...state.vms, ...state.containers].find((item) => item.id === selection.id);
    return (
      <Drawer title={guest ? `${guest.name} (${guest.vmid})` : "Guest"} onClose={closeDetail}>
        {guest ? <GuestDetail guest={guest} state={state} /> : <p>This guest is no longer reported.</p>}
      </Drawer>
    );
  }
  const node = state.nodes.find((item) => item.id === selection.id);
  return (
    <Drawer title={node ? `Node ${nodeLabel(node.name, node.instance, pveInstances(state).length > 1)}` : "Node"} onClose={closeDetail}>
      {node ? <NodeDetail node={node} state={state} /> : <p>This node is no longer reported.</p>}
    </Drawer>
  );
}
