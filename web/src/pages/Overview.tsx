import { useCallback, useMemo } from "preact/hooks";
import { indexBackups } from "../backups";
import { GuestTable, sortRows, type Row, type SortState } from "../components/GuestTable";
import { PercentBar, StatusDot, Unknown, UsageBar } from "../components/ui";
import { formatDuration, nowSeconds } from "../format";
import { nodeLabel, pveInstances } from "../instances";
import { STATE_MARK } from "../live";
import { matchesQuery, parseQuery } from "../query";
import { openDetail } from "../selection";
import { Store, stateStore, useStore } from "../store";
import type { Guest, Node } from "../types";

interface Filters {
  query: string;
  type: "all" | "qemu" | "lxc";
  status: string;
  node: string;
  tag: string;
  grouped: boolean;
  sort: SortState;
}

export const filterStore = new Store<Filters>({
  query: "",
  type: "all",
  status: "all",
  node: "all",
  tag: "all",
  grouped: false,
  sort: { key: "name", descending: false },
});

export const OVERVIEW_MARK = "pulse:overview-rendered";
export const UPDATE_MEASURE = "pulse:update-applied";

function NodeCard({ node, severalInstances }: { node: Node; severalInstances: boolean }) {
  const load = node.loadAverage?.map((value) => value.toFixed(2)).join(" / ");
  return (
    <article
      class={`card node-card${node.stale ? " stale" : ""}`}
      aria-label={`Node ${nodeLabel(node.name, node.instance, severalInstances)}`}
      data-node={node.name}
      data-instance={node.instance}
    >
      <header class="node-card-header">
        <span class="node-title">
          <button type="button" class="link-button node-name" onClick={() => openDetail("node", node.id)}>
            {node.name}
          </button>
          {severalInstances ? (
            <span class="muted node-instance" title={`Connection ${node.instance}`}>
              {" "}
              · {node.instance}
            </span>
          ) : null}
        </span>
        <StatusDot status={node.status} />
      </header>
      <dl class="node-metrics">
        <dt>CPU</dt>
        <dd>
          <PercentBar percent={node.cpu === null ? null : node.cpu * 100} label={`CPU of ${node.name}`} />
        </dd>
        <dt>Memory</dt>
        <dd>
          <UsageBar usage={node.memory} label={`Memory of ${node.name}`} />
        </dd>
        <dt>Disk</dt>
        <dd>
          <UsageBar usage={node.disk} label={`Root disk of ${node.name}`} />
        </dd>
        <dt>Uptime</dt>
        <dd>{node.uptime === null ? <Unknown /> : formatDuration(node.uptime)}</dd>
        <dt>Load</dt>
        <dd>{load ?? <Unknown />}</dd>
        <dt>PVE</dt>
        <dd>{node.pveVersion ?? <Unknown />}</dd>
        <dt>Cluster</dt>
        <dd>{node.clusterName ?? (node.isClusterMember === false ? "standalone" : <Unknown />)}</dd>
      </dl>
      {node.stale ? <p class="muted small">Not refreshed by the last poll.</p> : null}
    </article>
  );
}

export function Overview() {
  const state = useStore(stateStore);
  const filters = useStore(filterStore);
  const set = (patch: Partial<Filters>) => filterStore.update(patch);
  const now = nowSeconds();

  const guests = useMemo(() => [...state.vms, ...state.containers], [state]);
  const backupFor = useMemo(() => indexBackups(state), [state]);
  const parsed = useMemo(() => parseQuery(filters.query), [filters.query]);
  const severalInstances = useMemo(() => pveInstances(state).length > 1, [state]);
  const labelOf = useCallback((guest: Guest) => nodeLabel(guest.node, guest.instance, severalInstances), [severalInstances]);

  // The node filter's values are the labels, so "pve1 · demo" and "pve1 · lab" filter apart.
  const nodeNames = useMemo(() => [...new Set(guests.map(labelOf))].sort(), [guests, labelOf]);
  const statuses = useMemo(() => [...new Set(guests.map((guest) => guest.status))].sort(), [guests]);
  const tags = useMemo(() => [...new Set(guests.flatMap((guest) => guest.tags))].sort(), [guests]);

  const rows = useMemo<Row[]>(() => {
    const matching = guests.filter(
      (guest) =>
        (filters.type === "all" || guest.type === filters.type) &&
        (filters.status === "all" || guest.status === filters.status) &&
        (filters.node === "all" || labelOf(guest) === filters.node) &&
        (filters.tag === "all" || guest.tags.includes(filters.tag)) &&
        matchesQuery(guest, parsed.terms),
    );
    return sortRows(
      matching.map((guest) => ({ guest, backup: backupFor(guest, now), nodeLabel: labelOf(guest) })),
      filters.sort,
    );
    // `now` moves every render; recomputing on state changes is enough.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [guests, filters, parsed, backupFor, labelOf]);

  const onRendered = useCallback(() => {
    // Marks for the UI benchmark: the first paint of the table, and each state update's apply time.
    if (guests.length === 0) return;
    if (performance.getEntriesByName(OVERVIEW_MARK).length === 0) performance.mark(OVERVIEW_MARK);
    if (performance.getEntriesByName(STATE_MARK).length > 0) {
      performance.measure(UPDATE_MEASURE, STATE_MARK);
      performance.clearMarks(STATE_MARK);
    }
  }, [guests]);

  const running = guests.filter((guest) => guest.status === "running").length;
  const filtersActive =
    filters.query !== "" || filters.type !== "all" || filters.status !== "all" || filters.node !== "all" || filters.tag !== "all";

  return (
    <div class="page overview">
      <h1 class="sr-only">Overview</h1>
      <section aria-labelledby="nodes-heading">
        <h2 id="nodes-heading" class="section-title">
          Nodes <span class="muted">({state.nodes.length})</span>
        </h2>
        {state.nodes.length === 0 ? <p class="muted">No nodes reported yet. Add a connection under Settings → Nodes.</p> : null}
        <div class="node-grid">
          {state.nodes.map((node) => (
            <NodeCard key={node.id} node={node} severalInstances={severalInstances} />
          ))}
        </div>
      </section>

      <section aria-labelledby="guests-heading" class="guests-section">
        <div class="guests-header">
          <h2 id="guests-heading" class="section-title">
            Guests{" "}
            <span class="muted" id="guest-count" data-shown={rows.length} data-total={guests.length}>
              ({filtersActive ? `${rows.length} of ${guests.length}` : guests.length}, {running} running)
            </span>
          </h2>
        </div>
        <div class="filters" role="search" aria-label="Filter guests">
          <div class="search-field">
            <label for="guest-search" class="sr-only">
              Search guests
            </label>
            <input
              id="guest-search"
              type="search"
              placeholder="Search: cpu>80 node:pve1 tags:prod -name:test"
              value={filters.query}
              onInput={(event) => set({ query: event.currentTarget.value })}
              aria-describedby="search-help search-errors"
              autocomplete="off"
              spellcheck={false}
            />
            <small id="search-help" class="muted">
              Terms combine with AND. Fields: cpu, memory, disk (percent, with &gt; &gt;= &lt; &lt;= =), name, node, tags, status, type,
              pool, os, ip; prefix - to exclude.
            </small>
            <div id="search-errors" aria-live="polite">
              {parsed.errors.map((error) => (
                <div class="field-error" key={error}>
                  {error}
                </div>
              ))}
            </div>
          </div>
          <div class="filter-selects">
            <div class="filter-select">
              <label for="filter-type">Type</label>
              <select id="filter-type" value={filters.type} onChange={(event) => set({ type: event.currentTarget.value as Filters["type"] })}>
                <option value="all">All</option>
                <option value="qemu">VMs</option>
                <option value="lxc">Containers</option>
              </select>
            </div>
            <div class="filter-select">
              <label for="filter-status">Status</label>
              <select id="filter-status" value={filters.status} onChange={(event) => set({ status: event.currentTarget.value })}>
                <option value="all">All</option>
                {statuses.map((status) => (
                  <option key={status} value={status}>
                    {status}
                  </option>
                ))}
              </select>
            </div>
            <div class="filter-select">
              <label for="filter-node">Node</label>
              <select id="filter-node" value={filters.node} onChange={(event) => set({ node: event.currentTarget.value })}>
                <option value="all">All</option>
                {nodeNames.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            </div>
            <div class="filter-select">
              <label for="filter-tag">Tag</label>
              <select id="filter-tag" value={filters.tag} onChange={(event) => set({ tag: event.currentTarget.value })}>
                <option value="all">All</option>
                {tags.map((tag) => (
                  <option key={tag} value={tag}>
                    {tag}
                  </option>
                ))}
              </select>
            </div>
            <label class="checkbox">
              <input type="checkbox" checked={filters.grouped} onChange={(event) => set({ grouped: event.currentTarget.checked })} />
              Group by node
            </label>
            {filtersActive ? (
              <button
                type="button"
                class="button small"
                onClick={() => set({ query: "", type: "all", status: "all", node: "all", tag: "all" })}
              >
                Clear filters
              </button>
            ) : null}
          </div>
        </div>
        <GuestTable
          rows={rows}
          sort={filters.sort}
          onSort={(sort) => set({ sort })}
          grouped={filters.grouped}
          onOpen={(guest) => openDetail("guest", guest.id)}
          now={now}
          onRendered={onRendered}
        />
      </section>
    </div>
  );
}
