// Helpers for the disk, Ceph and replication sections of the Storage page.

import { formatDuration } from "./format";
import { nodeLabel } from "./instances";
import type { CephCluster, PhysicalDisk, ReplicationJob } from "./types";

/** Disks grouped by node label ("pve1", or "pve1 · lab" with several connections), groups and disks sorted. */
export function disksByNode(disks: PhysicalDisk[], severalInstances: boolean): [string, PhysicalDisk[]][] {
  const groups = new Map<string, PhysicalDisk[]>();
  for (const disk of disks) {
    const label = nodeLabel(disk.node, disk.instance, severalInstances);
    const list = groups.get(label) ?? [];
    list.push(disk);
    groups.set(label, list);
  }
  for (const list of groups.values()) list.sort((a, b) => a.devPath.localeCompare(b.devPath));
  return [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0]));
}

/** Status word for a disk, in the words StatusDot colours: "ok", "failed" or the reported health. */
export function diskStatus(disk: PhysicalDisk): string {
  if (disk.failed === true) return "failed";
  if (disk.failed === false) return "ok";
  return disk.health ? disk.health.toLowerCase() : "unknown";
}

/** Wear as the share of rated life used (100 minus `wearout`), or "N/A" where the disk reports none. */
export function wearText(disk: PhysicalDisk): string {
  if (disk.wearout === null) return "N/A";
  return `${100 - disk.wearout}% used`;
}

/** Status word for a Ceph health value: "ok", "warning", "error" or "unknown". */
export function cephStatus(ceph: CephCluster): string {
  switch (ceph.health) {
    case "HEALTH_OK":
      return "ok";
    case "HEALTH_WARN":
      return "warning";
    case "HEALTH_ERR":
      return "error";
    default:
      return "unknown";
  }
}

/** Placement group states as "126 active+clean, 3 active+degraded", largest first. */
export function pgSummary(states: Record<string, number>): string {
  const entries = Object.entries(states).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.map(([name, count]) => `${count} ${name}`).join(", ") || "none reported";
}

/** Status word for a replication job: "failed", "disabled", "stale" or "ok". */
export function replicationStatus(job: ReplicationJob): string {
  if (job.disabled) return "disabled";
  if (job.failCount > 0) return "failed";
  if (job.stale) return "stale";
  return "ok";
}

/** Failed jobs first, then by guest and job id. */
export function sortJobs(jobs: ReplicationJob[]): ReplicationJob[] {
  return [...jobs].sort((a, b) => Number(b.failCount > 0) - Number(a.failCount > 0) || a.guest - b.guest || a.jobId.localeCompare(b.jobId));
}

/** Time until an epoch-seconds moment relative to `now`, as "in 12m", or "due" once it has passed. */
export function formatUntil(epoch: number | null, now: number): string {
  if (epoch === null) return "unknown";
  const delta = epoch - now;
  return delta <= 0 ? "due" : `in ${formatDuration(delta)}`;
}
