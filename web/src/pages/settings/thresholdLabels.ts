// Labels and field order for the alert threshold document from /api/notifications/thresholds.
// The API returns keys alphabetically ("clear" before "trigger"), so the form sorts them itself.

/** Labels for keys whose humanized form reads wrong: acronyms, units and terse names. */
const LABELS: Record<string, string> = {
  cpu: "CPU",
  pbs: "PBS",
  gcFailed: "GC failed",
  physicalDisk: "Physical disks",
  healthWarn: "Health warning (HEALTH_WARN)",
  healthErr: "Health error (HEALTH_ERR)",
  trigger: "Trigger (%)",
  clear: "Clear (%)",
  critical: "Critical (%)",
  delaySeconds: "Delay (seconds)",
  defaultDelaySeconds: "Default delay (seconds)",
  historyDays: "Keep history (days)",
  polls: "Consecutive polls",
  warningDays: "Warning after (days)",
  criticalDays: "Critical after (days)",
  cooldownMinutes: "Cooldown (minutes)",
  groupingWindowSeconds: "Grouping window (seconds)",
  windowMinutes: "Window (minutes)",
  quietMinutes: "Quiet after flapping (minutes)",
  afterMinutes: "Escalate after (minutes)",
  timezone: "Time zone",
  holdCritical: "Hold critical alerts too",
};

/**
 * Display order: switches first, then the values in the order they act (trigger before clear, start
 * before end), then nested groups from the most to the least used. Unlisted keys keep the API's
 * order after the listed ones.
 */
const ORDER = [
  "enabled",
  "defaultDelaySeconds",
  "historyDays",
  "trigger",
  "clear",
  "critical",
  "warningDays",
  "criticalDays",
  "level",
  "polls",
  "delaySeconds",
  "cooldownMinutes",
  "maxNotificationsPerHour",
  "groupingWindowSeconds",
  "changes",
  "windowMinutes",
  "quietMinutes",
  "afterMinutes",
  "start",
  "end",
  "timezone",
  "guest",
  "node",
  "storage",
  "datastore",
  "pbs",
  "physicalDisk",
  "ceph",
  "replication",
  "noise",
  "cpu",
  "memory",
  "disk",
  "usage",
  "offline",
  "unavailable",
  "poweredOff",
  "backupFailed",
  "backupAge",
  "snapshotAge",
  "verifyFailed",
  "syncFailed",
  "pruneFailed",
  "gcFailed",
  "failed",
  "healthWarn",
  "healthErr",
  "flapping",
  "quietHours",
  "escalation",
  "holdCritical",
  "performance",
  "backup",
];

const RANK = new Map(ORDER.map((key, index) => [key, index]));

// Groups whose keys also occur elsewhere with another rank ("storage", "offline") get their own order.
const GROUP_ORDER: Record<string, string[]> = {
  holdCritical: ["performance", "storage", "offline", "backup"],
};

/** "delaySeconds" -> "Delay seconds". */
export function humanize(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Label for a threshold document key: "gcFailed" -> "GC failed", "cpu" -> "CPU". */
export function fieldLabel(key: string): string {
  return LABELS[key] ?? humanize(key);
}

/**
 * Sort the [key, value] entries of the group named `group` into display order. The sort is stable,
 * so unlisted keys keep their order.
 */
export function orderFields<T>(entries: [string, T][], group?: string): [string, T][] {
  const own = group ? GROUP_ORDER[group] : undefined;
  const ranks = own ? new Map(own.map((key, index) => [key, index])) : RANK;
  const rank = (key: string) => ranks.get(key) ?? ORDER.length;
  return [...entries].sort((a, b) => rank(a[0]) - rank(b[0]));
}

// The server's CRITICAL_OFFSET in pulse_core/alerts/settings.py: an empty critical level is trigger + 10,
// capped at 100. The thresholds API does not return it, so the form repeats it here.
const CRITICAL_OFFSET = 10;

/**
 * Placeholder for an empty number field: what the server uses when the field is left empty.
 * `defaultDelaySeconds` is the document's own "defaultDelaySeconds" value, which an empty delay inherits.
 */
export function emptyFieldHint(key: string, defaultDelaySeconds: unknown): string {
  if (key === "critical") return `trigger + ${CRITICAL_OFFSET}`;
  if (key === "delaySeconds") {
    return typeof defaultDelaySeconds === "number" ? `default (${defaultDelaySeconds} s)` : "default";
  }
  return "default";
}
