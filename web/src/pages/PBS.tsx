import { Section, StatusDot, Unknown, UsageBar } from "../components/ui";
import { formatAge, formatDuration, formatTime, nowSeconds } from "../format";
import { stateStore, useStore } from "../store";

export function PBSPage() {
  const state = useStore(stateStore);
  const now = nowSeconds();
  const snapshotCounts = new Map<string, number>();
  for (const backup of state.pbsBackups) {
    const key = `${backup.instance}/${backup.datastore}`;
    snapshotCounts.set(key, (snapshotCounts.get(key) ?? 0) + 1);
  }
  return (
    <div class="page">
      <h1>Proxmox Backup Server</h1>
      {state.pbs.length === 0 ? <p class="muted">No PBS connection configured. Add one under Settings → Nodes.</p> : null}
      {state.pbs.map((pbs) => (
        <Section title={pbs.name} key={pbs.id} actions={<StatusDot status={pbs.status} />}>
          <dl class="facts inline">
            <dt>Host</dt>
            <dd>{pbs.host}</dd>
            <dt>Version</dt>
            <dd>{pbs.version ?? <Unknown />}</dd>
            <dt>Uptime</dt>
            <dd>{formatDuration(pbs.uptime)}</dd>
            <dt>Memory</dt>
            <dd>
              <UsageBar usage={pbs.memory} label={`Memory of ${pbs.name}`} />
            </dd>
          </dl>
          {pbs.warnings.length ? (
            <ul class="warnings">
              {pbs.warnings.map((warning) => (
                <li key={warning}>{warning}</li>
              ))}
            </ul>
          ) : null}
          <h3>Datastores</h3>
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Usage</th>
                  <th scope="col">Deduplication</th>
                  <th scope="col">Estimated full</th>
                  <th scope="col">Garbage collection</th>
                  <th scope="col">Namespaces</th>
                  <th scope="col">Snapshots</th>
                </tr>
              </thead>
              <tbody>
                {pbs.datastores.map((store) => (
                  <tr key={store.id}>
                    <td>
                      {store.name} {store.error ? <span class="text-bad small">{store.error}</span> : null}
                    </td>
                    <td class="bar-cell">
                      <UsageBar
                        usage={{ total: store.total, used: store.used, free: store.free, usage: store.usage, unknownReason: store.error }}
                        label={`Usage of ${store.name}`}
                      />
                    </td>
                    <td>{store.deduplicationFactor ? `${store.deduplicationFactor.toFixed(2)}×` : <Unknown />}</td>
                    <td title={store.estimatedFull ? formatTime(store.estimatedFull) : undefined}>
                      {store.estimatedFull ? `in ${formatDuration(Math.max(0, store.estimatedFull - now))}` : "-"}
                    </td>
                    <td>
                      {store.gcStatus ?? "-"}
                      {store.gcLastRun ? <span class="muted small"> ({formatAge(store.gcLastRun, now)})</span> : null}
                    </td>
                    <td class="small">{store.namespaces.length ? store.namespaces.map((name) => name || "(root)").join(", ") : "(root)"}</td>
                    <td>{snapshotCounts.get(`${pbs.id}/${store.name}`) ?? 0}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h3>Jobs</h3>
          {pbs.jobs.length === 0 ? (
            <p class="muted">No jobs.</p>
          ) : (
            <div class="table-wrap">
              <table class="table compact">
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">Type</th>
                    <th scope="col">Datastore</th>
                    <th scope="col">Last run</th>
                    <th scope="col">Result</th>
                    <th scope="col">Next run</th>
                  </tr>
                </thead>
                <tbody>
                  {pbs.jobs.map((job) => (
                    <tr key={job.id}>
                      <td>{job.id}</td>
                      <td>{job.type}</td>
                      <td>{job.store ?? "-"}</td>
                      <td>{formatTime(job.lastRun)}</td>
                      <td class={job.lastResult && job.lastResult.toLowerCase() !== "ok" ? "text-bad" : ""}>{job.lastResult ?? "-"}</td>
                      <td>{formatTime(job.nextRun)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Section>
      ))}
    </div>
  );
}
