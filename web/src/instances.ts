// Names that stay unambiguous when several Proxmox VE connections report nodes of the same name.

import type { Alert, PulseState } from "./types";

/** Connection ids (`instance`) of every PVE connection that reports nodes, guests or storage, sorted. */
export function pveInstances(state: Pick<PulseState, "nodes" | "vms" | "containers" | "storage">): string[] {
  const ids = new Set<string>();
  for (const list of [state.nodes, state.vms, state.containers, state.storage]) {
    for (const item of list) if (item.instance) ids.add(item.instance);
  }
  return [...ids].sort();
}

/**
 * Node name as the UI shows it. With more than one PVE connection the connection id follows the
 * name ("pve1 · demo"), because two clusters may both have a node called "pve1".
 */
export function nodeLabel(node: string, instance: string | null | undefined, severalInstances: boolean): string {
  return severalInstances && instance ? `${node} · ${instance}` : node;
}

/**
 * Resource an alert is about, for the alert tables: "web1 on pve1" for a guest or storage, and the
 * node alone for a node alert, where "pve1 on pve1" would repeat it.
 */
export function alertResourceText(alert: Pick<Alert, "resourceName" | "resourceType" | "node" | "instance">, severalInstances: boolean): string {
  const isNode = alert.resourceType === "node" || (alert.resourceType === null && alert.node === alert.resourceName);
  // A disk's name already names its node ("/dev/sdb on pve1"); a Ceph cluster is named by its connection.
  if (alert.resourceType === "physical_disk") return alert.resourceName;
  if (alert.resourceType === "ceph") return `Ceph · ${alert.resourceName}`;
  if (isNode || !alert.node) return nodeLabel(alert.resourceName, isNode ? alert.instance : null, severalInstances);
  return `${alert.resourceName} on ${nodeLabel(alert.node, alert.instance, severalInstances)}`;
}
