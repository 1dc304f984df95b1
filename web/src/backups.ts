// The age of each guest's last backup across PVE storage (vzdump files), PVE backup tasks and
// PBS snapshots, rated fresh, stale or missing.

import type { Guest, PulseState } from "./types";

/** A backup newer than this is fresh; older is stale. */
export const FRESH_SECONDS = 24 * 3600;

export type Freshness = "fresh" | "stale" | "missing";

export interface GuestBackup {
  lastBackup: number | null;
  freshness: Freshness;
  /** Verification state of the newest backup ("ok", "failed", ...), null when not verified. */
  verification: string | null;
  count: number;
  source: "pve" | "pbs" | null;
}

export function rateFreshness(lastBackup: number | null, now: number, freshSeconds = FRESH_SECONDS): Freshness {
  if (lastBackup === null) return "missing";
  return now - lastBackup <= freshSeconds ? "fresh" : "stale";
}

function guestKey(instance: string, vmid: number | string): string {
  return `${instance}/${vmid}`;
}

interface Latest {
  time: number;
  verification: string | null;
  count: number;
  source: "pve" | "pbs";
}

function keep(map: Map<string, Latest>, key: string, time: number | null, verification: string | null, source: "pve" | "pbs"): void {
  if (time === null) return;
  const current = map.get(key);
  if (!current) {
    map.set(key, { time, verification, count: 1, source });
    return;
  }
  current.count += 1;
  if (time > current.time) {
    current.time = time;
    current.verification = verification;
    current.source = source;
  }
}

/**
 * Index the newest backup per guest. PVE files and tasks are keyed by connection and vmid; PBS
 * snapshots carry no PVE connection, so they match any guest with that vmid and type.
 */
export function indexBackups(state: PulseState): (guest: Guest, now: number) => GuestBackup {
  const pve = new Map<string, Latest>();
  const pbs = new Map<string, Latest>();
  for (const item of state.pveBackups.storageBackups) {
    if (item.vmid === null || item.isPBS) continue;
    keep(pve, guestKey(item.instance, item.vmid), item.ctime, item.verification, "pve");
  }
  for (const task of state.pveBackups.backupTasks) {
    if (task.vmid === null || task.status.toLowerCase() !== "ok") continue;
    keep(pve, guestKey(task.instance, task.vmid), task.endTime ?? task.startTime, null, "pve");
  }
  for (const item of state.pbsBackups) {
    const kind = item.backupType === "ct" ? "lxc" : item.backupType === "vm" ? "qemu" : item.backupType;
    keep(pbs, `${kind}/${item.vmid}`, item.backupTime, item.verification, "pbs");
  }
  return (guest, now) => {
    const local = pve.get(guestKey(guest.instance, guest.vmid));
    const remote = pbs.get(`${guest.type}/${guest.vmid}`);
    const newest = !local ? remote : !remote ? local : remote.time > local.time ? remote : local;
    const count = (local?.count ?? 0) + (remote?.count ?? 0);
    if (!newest) return { lastBackup: null, freshness: "missing", verification: null, count: 0, source: null };
    return {
      lastBackup: newest.time,
      freshness: rateFreshness(newest.time, now),
      verification: newest.verification,
      count,
      source: newest.source,
    };
  };
}
