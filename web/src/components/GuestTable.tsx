import type { JSX } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { GuestBackup } from "../backups";
import { formatDuration, formatRate, formatRateCompact, formatTime } from "../format";
import type { Guest } from "../types";
import { PercentBar, StatusDot, Stopped, Tags, Unknown, UsageBar } from "./ui";

export const ROW_HEIGHT = 40;
const OVERSCAN = 8;

export interface Row {
  guest: Guest;
  backup: GuestBackup;
  /** Node name as shown, e.g. "pve1 · demo" when several connections report nodes; defaults to `guest.node`. */
  nodeLabel?: string;
}

type SortValue = number | string | null;

interface Column {
  key: string;
  label: string;
  sortValue: (row: Row) => SortValue;
  render: (row: Row, now: number) => JSX.Element | string | null;
}

const nodeOf = (row: Row) => row.nodeLabel ?? row.guest.node;
const running = (row: Row) => row.guest.status === "running";

// Compact figures keep the four rate columns narrow; the tooltip has the one-decimal value.
function rate(row: Row, value: number | null) {
  if (!running(row)) return <Stopped />;
  if (value === null) return <Unknown />;
  return <span title={formatRate(value)}>{formatRateCompact(value)}</span>;
}

/** Return the tooltip of a guest's status. For an unknown status it names the node that did not report the guest. */
export function statusTitle(guest: Pick<Guest, "status" | "node" | "stale">): string {
  if (guest.status !== "unknown") return guest.stale ? `${guest.status} (not refreshed by the last poll)` : guest.status;
  return `Status unknown: node ${guest.node} did not report this guest (the node may be offline)`;
}

export const COLUMNS: Column[] = [
  {
    key: "status",
    label: "Status",
    sortValue: (row) => row.guest.status,
    render: (row) => <StatusDot status={row.guest.status} title={statusTitle(row.guest)} />,
  },
  { key: "name", label: "Name", sortValue: (row) => row.guest.name.toLowerCase(), render: () => null },
  { key: "vmid", label: "VMID", sortValue: (row) => row.guest.vmid, render: (row) => String(row.guest.vmid) },
  { key: "type", label: "Type", sortValue: (row) => row.guest.type, render: (row) => (row.guest.type === "qemu" ? "VM" : "CT") },
  { key: "node", label: "Node", sortValue: nodeOf, render: nodeOf },
  {
    key: "cpu",
    label: "CPU",
    sortValue: (row) => row.guest.cpu,
    render: (row) =>
      !running(row) ? (
        <Stopped />
      ) : (
        <PercentBar percent={row.guest.cpu === null ? null : row.guest.cpu * 100} label={`CPU of ${row.guest.name}`} />
      ),
  },
  {
    key: "memory",
    label: "Memory",
    sortValue: (row) => row.guest.memory.usage,
    render: (row) =>
      !running(row) ? <Stopped /> : <UsageBar usage={row.guest.memory} label={`Memory of ${row.guest.name}`} />,
  },
  {
    key: "disk",
    label: "Disk",
    sortValue: (row) => row.guest.disk.usage,
    render: (row) => (!running(row) ? <Stopped /> : <UsageBar usage={row.guest.disk} label={`Disk of ${row.guest.name}`} />),
  },
  { key: "netin", label: "Net in", sortValue: (row) => row.guest.networkIn, render: (row) => rate(row, row.guest.networkIn) },
  { key: "netout", label: "Net out", sortValue: (row) => row.guest.networkOut, render: (row) => rate(row, row.guest.networkOut) },
  { key: "diskread", label: "Disk read", sortValue: (row) => row.guest.diskRead, render: (row) => rate(row, row.guest.diskRead) },
  { key: "diskwrite", label: "Disk write", sortValue: (row) => row.guest.diskWrite, render: (row) => rate(row, row.guest.diskWrite) },
  {
    key: "uptime",
    label: "Uptime",
    sortValue: (row) => row.guest.uptime,
    render: (row) => (running(row) ? formatDuration(row.guest.uptime) : <Stopped />),
  },
  { key: "tags", label: "Tags", sortValue: (row) => row.guest.tags.join(","), render: (row) => <Tags tags={row.guest.tags} /> },
  {
    key: "backup",
    label: "Backup",
    sortValue: (row) => row.backup.lastBackup,
    render: (row, now) => (
      <span
        class={`freshness freshness-${row.backup.freshness}`}
        title={row.backup.lastBackup === null ? "no backup found" : `${row.backup.freshness}: ${formatTime(row.backup.lastBackup)}`}
      >
        {row.backup.lastBackup === null ? "none" : formatDuration(Math.max(0, now - row.backup.lastBackup))}
        <span class="sr-only"> ago, {row.backup.freshness}</span>
      </span>
    ),
  },
];

export interface SortState {
  key: string;
  descending: boolean;
}

/** Sort rows by a column; unknown values always go last, whichever the direction. */
export function sortRows(rows: Row[], sort: SortState): Row[] {
  const column = COLUMNS.find((item) => item.key === sort.key) ?? COLUMNS[1];
  const direction = sort.descending ? -1 : 1;
  const keyed = rows.map((row) => ({ row, value: column.sortValue(row) }));
  keyed.sort((a, b) => {
    if (a.value === null && b.value === null) return a.row.guest.vmid - b.row.guest.vmid;
    if (a.value === null) return 1;
    if (b.value === null) return -1;
    if (a.value < b.value) return -direction;
    if (a.value > b.value) return direction;
    return a.row.guest.vmid - b.row.guest.vmid;
  });
  return keyed.map((item) => item.row);
}

type Item = { kind: "group"; node: string; count: number } | { kind: "guest"; row: Row };

interface Props {
  rows: Row[];
  sort: SortState;
  onSort: (sort: SortState) => void;
  grouped: boolean;
  onOpen: (guest: Guest) => void;
  now: number;
  onRendered?: () => void;
}

/** The guests table: only the rows in view (plus a margin) are in the DOM. */
export function GuestTable({ rows, sort, onSort, grouped, onOpen, now, onRendered }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);

  const items = useMemo<Item[]>(() => {
    if (!grouped) return rows.map((row) => ({ kind: "guest", row }));
    const byNode = new Map<string, Row[]>();
    for (const row of rows) {
      const list = byNode.get(nodeOf(row)) ?? [];
      list.push(row);
      byNode.set(nodeOf(row), list);
    }
    const result: Item[] = [];
    for (const node of [...byNode.keys()].sort()) {
      const list = byNode.get(node)!;
      result.push({ kind: "group", node, count: list.length });
      for (const row of list) result.push({ kind: "guest", row });
    }
    return result;
  }, [rows, grouped]);

  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    let frame = 0;
    const onScroll = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => setScrollTop(element.scrollTop));
    };
    const observer = new ResizeObserver(() => setViewport(element.clientHeight));
    observer.observe(element);
    element.addEventListener("scroll", onScroll, { passive: true });
    return () => {
      element.removeEventListener("scroll", onScroll);
      observer.disconnect();
      cancelAnimationFrame(frame);
    };
  }, []);

  useLayoutEffect(() => {
    onRendered?.();
  });

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(items.length, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);
  const visible = items.slice(first, last);

  const header = (
    <div class="grid-row grid-head" role="row" aria-rowindex={1}>
      {COLUMNS.map((column) => {
        const active = sort.key === column.key;
        return (
          <div
            role="columnheader"
            key={column.key}
            class={`cell cell-${column.key}`}
            aria-sort={active ? (sort.descending ? "descending" : "ascending") : "none"}
          >
            <button
              type="button"
              class="sort-button"
              onClick={() => onSort({ key: column.key, descending: active ? !sort.descending : false })}
            >
              {column.label}
              <span aria-hidden="true" class="sort-indicator">
                {active ? (sort.descending ? "▼" : "▲") : ""}
              </span>
            </button>
          </div>
        );
      })}
    </div>
  );

  // Fit the Node column to its longest label: 64 px for "pve1", wider for "pve1 · demo".
  const nodeColumnStyle = useMemo(() => {
    const longest = rows.reduce((width, row) => Math.max(width, nodeOf(row).length), 4);
    return { "--node-column": `max(64px, calc(${longest}ch + 16px))` };
  }, [rows]);

  return (
    <div
      class="guest-table"
      style={nodeColumnStyle}
      role="table"
      aria-label="Virtual machines and containers"
      aria-rowcount={items.length + 1}
      data-count={rows.length}
    >
      <div
        class="grid-scroller"
        ref={scroller}
        tabIndex={0}
        aria-label="Guest rows, scrollable"
        style={{ height: `${(items.length + 1) * ROW_HEIGHT + 2}px` }}
      >
        <div role="rowgroup" class="grid-header-group">
          {header}
        </div>
        <div role="rowgroup" class="grid-body" style={{ height: `${items.length * ROW_HEIGHT}px` }}>
          {visible.map((item, offset) => {
            const index = first + offset;
            const top = `${index * ROW_HEIGHT}px`;
            if (item.kind === "group") {
              return (
                <div role="row" class="grid-row group-row" key={`group-${item.node}`} style={{ top }} aria-rowindex={index + 2}>
                  <div role="cell" class="cell group-cell">
                    {item.node} <span class="muted">({item.count})</span>
                  </div>
                </div>
              );
            }
            const { guest } = item.row;
            return (
              <div
                role="row"
                key={guest.id}
                class={`grid-row guest-row${guest.stale ? " stale" : ""}${guest.status !== "running" ? " inactive" : ""}`}
                style={{ top }}
                aria-rowindex={index + 2}
                data-guest-id={guest.id}
              >
                {COLUMNS.map((column) =>
                  column.key === "name" ? (
                    <div role="cell" class="cell cell-name" key="name">
                      <button type="button" class="link-button" onClick={() => onOpen(guest)} title={`Open details of ${guest.name}`}>
                        {guest.name}
                      </button>
                      {guest.template ? <span class="badge">template</span> : null}
                      {guest.lock ? <span class="badge">{guest.lock}</span> : null}
                      {guest.stale ? <span class="badge warn" title="Not refreshed by the last poll">stale</span> : null}
                    </div>
                  ) : (
                    <div role="cell" class={`cell cell-${column.key}`} key={column.key}>
                      {column.render(item.row, now)}
                    </div>
                  ),
                )}
              </div>
            );
          })}
        </div>
      </div>
      {items.length === 0 ? <p class="empty muted">No guests match these filters.</p> : null}
    </div>
  );
}
