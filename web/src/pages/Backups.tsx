import { useMemo, useState } from "preact/hooks";
import { indexBackups, type Freshness, type GuestBackup } from "../backups";
import { Section } from "../components/ui";
import { formatAge, formatBytes, formatTime, nowSeconds } from "../format";
import { openDetail } from "../selection";
import { stateStore, useStore } from "../store";

function verificationText(backup: GuestBackup): string {
  if (!backup.source) return "-";
  if (!backup.verification || backup.verification === "none") return "not verified";
  return backup.verification;
}

export function BackupsPage() {
  const state = useStore(stateStore);
  const [show, setShow] = useState<"all" | Freshness>("all");
  const [search, setSearch] = useState("");
  const now = nowSeconds();
  const lookup = useMemo(() => indexBackups(state), [state]);
  const guests = useMemo(
    () =>
      [...state.vms, ...state.containers]
        .filter((guest) => !guest.template)
        .map((guest) => ({ guest, backup: lookup(guest, now) }))
        .sort((a, b) => (a.backup.lastBackup ?? 0) - (b.backup.lastBackup ?? 0)),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [state, lookup],
  );
  const counts = { fresh: 0, stale: 0, missing: 0 };
  for (const item of guests) counts[item.backup.freshness] += 1;
  const visible = guests.filter(
    (item) =>
      (show === "all" || item.backup.freshness === show) &&
      (search === "" || item.guest.name.toLowerCase().includes(search.toLowerCase()) || String(item.guest.vmid).includes(search)),
  );
  const failed = state.pveBackups.backupTasks.filter((task) => task.status.toLowerCase() !== "ok" && task.endTime !== null);
  const namespaces = new Map<string, number>();
  for (const item of state.pbsBackups) {
    const key = `${item.datastore}${item.namespace ? ` / ${item.namespace}` : " / (root)"}`;
    namespaces.set(key, (namespaces.get(key) ?? 0) + 1);
  }
  const verification = { ok: 0, failed: 0, none: 0 };
  for (const item of [...state.pbsBackups, ...state.pveBackups.storageBackups]) {
    // PBS reports "ok" or "failed" for a verified snapshot, and "none" or nothing for an unverified one.
    const value = (item.verification ?? "").toLowerCase();
    if (value === "ok") verification.ok += 1;
    else if (value === "failed") verification.failed += 1;
    else verification.none += 1;
  }

  return (
    <div class="page">
      <h1>Backups</h1>
      <div class="summary-grid">
        <div class="card stat freshness-fresh">
          <span class="stat-value">{counts.fresh}</span> fresh (within 24h)
        </div>
        <div class="card stat freshness-stale">
          <span class="stat-value">{counts.stale}</span> stale
        </div>
        <div class="card stat freshness-missing">
          <span class="stat-value">{counts.missing}</span> without a backup
        </div>
        <div class="card stat">
          <span class="stat-value">{verification.ok}</span> verified, {verification.failed} failed verification, {verification.none} not verified
        </div>
      </div>
      <Section
        title="Last backup per guest"
        actions={
          <div class="inline-form">
            <label>
              Show{" "}
              <select value={show} onChange={(event) => setShow(event.currentTarget.value as typeof show)}>
                <option value="all">All</option>
                <option value="fresh">Fresh</option>
                <option value="stale">Stale</option>
                <option value="missing">Missing</option>
              </select>
            </label>
            <label>
              <span class="sr-only">Search guests</span>
              <input type="search" placeholder="Name or VMID" value={search} onInput={(event) => setSearch(event.currentTarget.value)} />
            </label>
          </div>
        }
      >
        <div class="table-wrap scroll-y">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Guest</th>
                <th scope="col">VMID</th>
                <th scope="col">Node</th>
                <th scope="col">Last backup</th>
                <th scope="col">Source</th>
                <th scope="col">Copies</th>
                <th scope="col">Verification</th>
              </tr>
            </thead>
            <tbody>
              {visible.map(({ guest, backup }) => (
                <tr key={guest.id}>
                  <td>
                    <button type="button" class="link-button" onClick={() => openDetail("guest", guest.id)}>
                      {guest.name}
                    </button>
                  </td>
                  <td>{guest.vmid}</td>
                  <td>{guest.node}</td>
                  <td>
                    <span class={`freshness freshness-${backup.freshness}`}>
                      {backup.freshness === "missing" ? "missing" : `${formatAge(backup.lastBackup, now)} (${backup.freshness})`}
                    </span>
                  </td>
                  <td>{backup.source ? backup.source.toUpperCase() : "-"}</td>
                  <td>{backup.count}</td>
                  <td class={backup.verification === "failed" ? "text-bad" : ""}>{verificationText(backup)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title={`Failed backup tasks (${failed.length})`}>
        {failed.length === 0 ? (
          <p class="muted">No failed backup tasks.</p>
        ) : (
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Node</th>
                  <th scope="col">VMID</th>
                  <th scope="col">Status</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {failed.map((task) => (
                  <tr key={task.id}>
                    <td>{formatTime(task.startTime)}</td>
                    <td>{task.node}</td>
                    <td>{task.vmid ?? "all"}</td>
                    <td class="text-bad">{task.status}</td>
                    <td class="small">{task.error ?? "-"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <Section title="PBS namespaces">
        {namespaces.size === 0 ? (
          <p class="muted">No PBS backups reported.</p>
        ) : (
          <ul class="plain-list">
            {[...namespaces.entries()].sort().map(([name, count]) => (
              <li key={name}>
                {name}: {count} snapshots
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title={`PVE storage backups (${state.pveBackups.storageBackups.length})`}>
        <div class="table-wrap scroll-y">
          <table class="table compact">
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">VMID</th>
                <th scope="col">Storage</th>
                <th scope="col">Size</th>
                <th scope="col">Notes</th>
              </tr>
            </thead>
            <tbody>
              {[...state.pveBackups.storageBackups]
                .sort((a, b) => (b.ctime ?? 0) - (a.ctime ?? 0))
                .slice(0, 200)
                .map((item) => (
                  <tr key={item.id}>
                    <td>{formatTime(item.ctime)}</td>
                    <td>{item.vmid ?? "-"}</td>
                    <td>
                      {item.storage} ({item.node})
                    </td>
                    <td>{formatBytes(item.size)}</td>
                    <td class="small">{item.notes ?? ""}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </Section>
    </div>
  );
}
