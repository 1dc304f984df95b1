// Readable names for alert kinds. An alert's `type` alone is ambiguous ("failed" is raised for both a
// physical disk and a replication job), so a kind is the pair of resource type and alert type.

/** Labels by "resourceType:type", matching the metrics the alert rules raise. */
const LABELS: Record<string, string> = {
  "guest:cpu": "Guest CPU",
  "guest:memory": "Guest memory",
  "guest:disk": "Guest disk usage",
  "guest:powered_off": "Guest powered off",
  "guest:backup_failed": "Guest backup failed",
  "guest:backup_age": "Guest backup age",
  "guest:snapshot_age": "Guest snapshot age",
  "node:cpu": "Node CPU",
  "node:memory": "Node memory",
  "node:disk": "Node disk usage",
  "node:offline": "Node offline",
  "storage:usage": "Storage usage",
  "storage:unavailable": "Storage unavailable",
  "datastore:usage": "Datastore usage",
  "datastore:verify_failed": "Datastore verify failed",
  "datastore:sync_failed": "Datastore sync failed",
  "datastore:prune_failed": "Datastore prune failed",
  "datastore:gc_failed": "Datastore garbage collection failed",
  "pbs:offline": "PBS offline",
  "physical_disk:failed": "Disk SMART failure",
  "ceph:health_warn": "Ceph health warning",
  "ceph:health_err": "Ceph health error",
  "replication:failed": "Replication failure",
};

/** Return the kind of `alert` as "resourceType:type", the key the Type filter uses. */
export function alertKind(alert: { type: string; resourceType: string | null }): string {
  return `${alert.resourceType ?? ""}:${alert.type}`;
}

function words(id: string): string {
  return id.replace(/_/g, " ");
}

/** Return the label for an alert kind. An unknown kind reads as its resource type and alert type in words. */
export function alertKindLabel(kind: string): string {
  const known = LABELS[kind];
  if (known) return known;
  const [resourceType, type] = kind.split(":", 2);
  const text = resourceType ? `${words(resourceType)} ${words(type)}` : words(type);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Return the distinct kinds of `alerts` as [kind, label] pairs, sorted by label. */
export function alertKindOptions(alerts: { type: string; resourceType: string | null }[]): [string, string][] {
  const kinds = [...new Set(alerts.map(alertKind))];
  return kinds.map((kind): [string, string] => [kind, alertKindLabel(kind)]).sort((a, b) => a[1].localeCompare(b[1]));
}
