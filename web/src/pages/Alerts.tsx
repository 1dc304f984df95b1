import { useMemo, useState } from "preact/hooks";
import { alertKind, alertKindOptions } from "../alertTypes";
import { api } from "../api";
import { ErrorBox, Notice, Section, useAction, useAsync } from "../components/ui";
import { formatAge, formatTime, nowSeconds } from "../format";
import { alertResourceText, pveInstances } from "../instances";
import { stateStore, useStore } from "../store";
import type { Alert } from "../types";

interface AlertsResponse {
  active: Alert[];
  history: Alert[];
}

interface Filter {
  level: string;
  type: string;
  text: string;
  acknowledged: "all" | "yes" | "no";
}

function applyFilter(alerts: Alert[], filter: Filter): Alert[] {
  const text = filter.text.toLowerCase();
  return alerts.filter(
    (alert) =>
      (filter.level === "all" || alert.level === filter.level) &&
      (filter.type === "all" || alertKind(alert) === filter.type) &&
      (filter.acknowledged === "all" || alert.acknowledged === (filter.acknowledged === "yes")) &&
      (text === "" ||
        alert.resourceName.toLowerCase().includes(text) ||
        alert.message.toLowerCase().includes(text) ||
        (alert.node ?? "").toLowerCase().includes(text) ||
        (alert.instance ?? "").toLowerCase().includes(text)),
  );
}

function FilterBar({ filter, onChange, types }: { filter: Filter; onChange: (filter: Filter) => void; types: [string, string][] }) {
  return (
    <div class="filters-row" role="search" aria-label="Filter alerts">
      <label>
        Level{" "}
        <select value={filter.level} onChange={(event) => onChange({ ...filter, level: event.currentTarget.value })}>
          <option value="all">All</option>
          <option value="warning">Warning</option>
          <option value="critical">Critical</option>
        </select>
      </label>
      <label>
        Type{" "}
        <select value={filter.type} onChange={(event) => onChange({ ...filter, type: event.currentTarget.value })}>
          <option value="all">All</option>
          {types.map(([kind, label]) => (
            <option key={kind} value={kind}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Acknowledged{" "}
        <select
          value={filter.acknowledged}
          onChange={(event) => onChange({ ...filter, acknowledged: event.currentTarget.value as Filter["acknowledged"] })}
        >
          <option value="all">All</option>
          <option value="no">Not acknowledged</option>
          <option value="yes">Acknowledged</option>
        </select>
      </label>
      <label>
        <span class="sr-only">Search alerts</span>
        <input
          type="search"
          placeholder="Resource, node or message"
          value={filter.text}
          onInput={(event) => onChange({ ...filter, text: event.currentTarget.value })}
        />
      </label>
    </div>
  );
}

export function AlertsPage() {
  const state = useStore(stateStore);
  const now = nowSeconds();
  const severalInstances = pveInstances(state).length > 1;
  const [filter, setFilter] = useState<Filter>({ level: "all", type: "all", text: "", acknowledged: "all" });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const action = useAction();
  const history = useAsync((signal) => api.get<AlertsResponse>("/api/notifications/alerts?limit=500", signal), []);

  const active = useMemo(() => [...state.activeAlerts].sort((a, b) => (b.startTime ?? 0) - (a.startTime ?? 0)), [state.activeAlerts]);
  const types = useMemo(() => alertKindOptions([...active, ...(history.data?.history ?? [])]), [active, history.data]);
  const visibleActive = applyFilter(active, filter);
  const visibleHistory = applyFilter(history.data?.history ?? [], filter);

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const change = (ids: string[], acknowledge: boolean) =>
    action.run(async () => {
      const path = acknowledge ? "/api/notifications/alerts/acknowledge" : "/api/notifications/alerts/unacknowledge";
      const result = await api.post<{ acknowledged?: string[]; unacknowledged?: string[]; notFound?: string[] }>(path, { ids });
      setSelected(new Set());
      const done = (acknowledge ? result.acknowledged : result.unacknowledged)?.length ?? ids.length;
      const missing = result.notFound?.length ? `; ${result.notFound.length} had already resolved` : "";
      return `${acknowledge ? "Acknowledged" : "Unacknowledged"} ${done} alert${done === 1 ? "" : "s"}${missing}.`;
    });
  const clearHistory = () =>
    action.run(async () => {
      if (!window.confirm("Clear the whole alert history? Active alerts stay.")) return;
      await api.post("/api/notifications/alerts/clear");
      history.reload();
      return "Alert history cleared.";
    });
  const selectedIds = visibleActive.filter((alert) => selected.has(alert.id)).map((alert) => alert.id);

  return (
    <div class="page">
      <h1>Alerts</h1>
      <FilterBar filter={filter} onChange={setFilter} types={types} />
      <ErrorBox error={action.error} />
      {action.message ? <Notice kind="success">{action.message}</Notice> : null}
      <Section
        title={`Active (${active.length})`}
        actions={
          <>
            <button type="button" class="button" disabled={action.busy || selectedIds.length === 0} onClick={() => change(selectedIds, true)}>
              Acknowledge selected
            </button>
            <button
              type="button"
              class="button"
              disabled={action.busy || visibleActive.every((alert) => alert.acknowledged)}
              onClick={() => change(visibleActive.filter((alert) => !alert.acknowledged).map((alert) => alert.id), true)}
            >
              Acknowledge all shown
            </button>
          </>
        }
      >
        {visibleActive.length === 0 ? (
          <p class="muted">{active.length ? "No active alert matches the filters." : "No active alerts."}</p>
        ) : (
          <div class="table-wrap">
            <table class="table alerts-table">
              <thead>
                <tr>
                  <th scope="col">
                    <span class="sr-only">Select</span>
                  </th>
                  <th scope="col">Level</th>
                  <th scope="col">Resource</th>
                  <th scope="col">Message</th>
                  <th scope="col">Since</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {visibleActive.map((alert) => (
                  <tr key={alert.id} class={alert.acknowledged ? "acknowledged" : ""} data-alert-id={alert.id}>
                    <td>
                      <input
                        type="checkbox"
                        checked={selected.has(alert.id)}
                        onChange={() => toggle(alert.id)}
                        aria-label={`Select alert for ${alert.resourceName}`}
                      />
                    </td>
                    <td>
                      <span class={`level level-${alert.level}`}>{alert.level}</span>
                    </td>
                    <td>{alertResourceText(alert, severalInstances)}</td>
                    <td>{alert.message}</td>
                    <td title={formatTime(alert.startTime)}>{formatAge(alert.startTime, now)}</td>
                    <td>{alert.acknowledged ? `acknowledged${alert.ackUser ? ` by ${alert.ackUser}` : ""}` : "open"}</td>
                    <td>
                      <button type="button" class="button small" disabled={action.busy} onClick={() => change([alert.id], !alert.acknowledged)}>
                        {alert.acknowledged ? "Unacknowledge" : "Acknowledge"}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <Section
        title="History"
        actions={
          <>
            <button type="button" class="button" onClick={history.reload} disabled={history.loading}>
              Refresh
            </button>
            <button type="button" class="button danger" onClick={clearHistory} disabled={action.busy}>
              Clear history
            </button>
          </>
        }
      >
        <ErrorBox error={history.error} onRetry={history.reload} />
        {history.data && visibleHistory.length === 0 ? <p class="muted">No alerts in the history match.</p> : null}
        {visibleHistory.length ? (
          <div class="table-wrap scroll-y">
            <table class="table compact">
              <thead>
                <tr>
                  <th scope="col">Level</th>
                  <th scope="col">Resource</th>
                  <th scope="col">Message</th>
                  <th scope="col">Started</th>
                  <th scope="col">Resolved</th>
                </tr>
              </thead>
              <tbody>
                {visibleHistory.map((alert) => (
                  <tr key={`${alert.id}-${alert.startTime}`}>
                    <td>
                      <span class={`level level-${alert.level}`}>{alert.level}</span>
                    </td>
                    <td>{alertResourceText(alert, severalInstances)}</td>
                    <td>{alert.message}</td>
                    <td>{formatTime(alert.startTime)}</td>
                    <td>{alert.resolvedTime ? formatTime(alert.resolvedTime) : "still active"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </Section>
    </div>
  );
}
