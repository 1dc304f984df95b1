// The /api/state document as the daemon serializes it (camelCase, units fixed by the core model).

/** A usage figure; `usage` is a percent, and null fields are unknown (see `unknownReason`). */
export interface Usage {
  total: number | null;
  used: number | null;
  free: number | null;
  usage: number | null;
  unknownReason: string | null;
}

export interface Node {
  id: string;
  name: string;
  instance: string;
  host: string;
  status: string;
  type: "node";
  /** Fraction 0..1, null when unknown. */
  cpu: number | null;
  cpus: number | null;
  memory: Usage;
  swap: Usage;
  disk: Usage;
  uptime: number | null;
  loadAverage: number[] | null;
  pveVersion: string | null;
  kernelVersion: string | null;
  cpuModel: string | null;
  clusterName: string | null;
  isClusterMember: boolean | null;
  connectionHealth: string | null;
  stale: boolean;
  lastSeen: number | null;
}

export interface Filesystem {
  mountpoint: string;
  type: string | null;
  total: number | null;
  used: number | null;
  device: string | null;
}

export interface Guest {
  id: string;
  vmid: number;
  name: string;
  node: string;
  instance: string;
  type: "qemu" | "lxc";
  status: string;
  template: boolean;
  cpu: number | null;
  cpus: number | null;
  memory: Usage;
  balloon: number | null;
  disk: Usage;
  networkIn: number | null;
  networkOut: number | null;
  diskRead: number | null;
  diskWrite: number | null;
  uptime: number | null;
  tags: string[];
  lock: string | null;
  haState: string | null;
  pool: string | null;
  agentEnabled: boolean | null;
  agentStatus: string | null;
  osName: string | null;
  ipAddresses: string[];
  filesystems: Filesystem[];
  stale: boolean;
  staleFields: string[];
  lastSeen: number | null;
}

export interface Storage {
  id: string;
  name: string;
  node: string;
  instance: string;
  type: string;
  content: string;
  shared: boolean;
  enabled: boolean;
  active: boolean;
  status: string;
  total: number | null;
  used: number | null;
  free: number | null;
  usage: number | null;
  stale: boolean;
}

export interface Datastore {
  id: string;
  name: string;
  instance: string;
  status: string;
  total: number | null;
  used: number | null;
  free: number | null;
  usage: number | null;
  deduplicationFactor: number | null;
  estimatedFull: number | null;
  gcStatus: string | null;
  gcLastRun: number | null;
  namespaces: string[];
  removable: boolean | null;
  error: string | null;
  stale: boolean;
}

export interface PBSJob {
  id: string;
  type: string;
  store: string | null;
  lastRun: number | null;
  lastResult: string | null;
  nextRun: number | null;
}

export interface PBSInstance {
  id: string;
  name: string;
  host: string;
  status: string;
  version: string | null;
  cpu: number | null;
  memory: Usage;
  disk: Usage;
  uptime: number | null;
  loadAverage: number[] | null;
  datastores: Datastore[];
  jobs: PBSJob[];
  warnings: string[];
  connectionHealth: string | null;
  stale: boolean;
}

export interface BackupTask {
  id: string;
  upid: string;
  node: string;
  instance: string;
  vmid: number | null;
  status: string;
  startTime: number | null;
  endTime: number | null;
  size: number | null;
  error: string | null;
}

export interface StorageBackup {
  id: string;
  volid: string;
  storage: string;
  node: string;
  instance: string;
  vmid: number | null;
  type: string | null;
  ctime: number | null;
  size: number | null;
  format: string | null;
  notes: string | null;
  protected: boolean;
  verification: string | null;
  isPBS: boolean;
}

export interface GuestSnapshot {
  id: string;
  name: string;
  vmid: number;
  type: string;
  node: string;
  instance: string;
  time: number | null;
  description: string | null;
  vmstate: boolean;
  parent: string | null;
}

export interface PBSBackup {
  id: string;
  instance: string;
  datastore: string;
  namespace: string;
  backupType: string;
  vmid: string;
  backupTime: number | null;
  size: number | null;
  protected: boolean;
  comment: string | null;
  verification: string | null;
  encrypted: boolean | null;
  owner: string | null;
  files: string[];
}

export interface Alert {
  id: string;
  type: string;
  level: string;
  resourceId: string;
  resourceName: string;
  resourceType: string | null;
  node: string | null;
  instance: string | null;
  message: string;
  value: number | null;
  threshold: number | null;
  startTime: number | null;
  lastSeen: number | null;
  acknowledged: boolean;
  ackUser: string | null;
  ackTime: number | null;
  resolvedTime: number | null;
  metadata: Record<string, unknown> | null;
}

export interface ConnectionHealth {
  instance: string;
  healthy: boolean;
  status: string;
  message: string | null;
  lastSuccess: number | null;
  lastError: string | null;
  consecutiveFailures: number;
  warnings: string[];
}

/** A physical disk of a PVE node, from /nodes/{node}/disks/list. */
export interface PhysicalDisk {
  id: string;
  node: string;
  instance: string;
  devPath: string;
  model: string | null;
  serial: string | null;
  vendor: string | null;
  wwn: string | null;
  /** hdd, ssd, nvme, usb or unknown. */
  type: string;
  size: number | null;
  /** SMART health as Proxmox reports it: PASSED, OK, FAILED, UNKNOWN. */
  health: string | null;
  /** True when SMART reports a failing disk, null when the health is unknown. */
  failed: boolean | null;
  /** Percent of rated life left (100 = new); null for hard disks. */
  wearout: number | null;
  usedBy: string | null;
  rpm: number | null;
  osdIds: number[];
  stale: boolean;
}

export interface CephCheck {
  name: string;
  severity: string | null;
  message: string;
  count: number | null;
  muted: boolean;
}

export interface CephCluster {
  id: string;
  instance: string;
  fsid: string | null;
  /** HEALTH_OK, HEALTH_WARN or HEALTH_ERR. */
  health: string | null;
  checks: CephCheck[];
  monitors: { total: number | null; inQuorum: number | null };
  managers: { up: number | null; active: string | null };
  osds: { total: number | null; up: number | null; in: number | null };
  pools: number | null;
  total: number | null;
  used: number | null;
  free: number | null;
  usage: number | null;
  dataBytes: number | null;
  placementGroups: { total: number | null; states: Record<string, number> };
  stale: boolean;
}

export interface ReplicationJob {
  id: string;
  jobId: string;
  instance: string;
  guest: number;
  guestType: string | null;
  source: string | null;
  target: string;
  schedule: string;
  disabled: boolean;
  comment: string | null;
  lastSync: number | null;
  lastTry: number | null;
  nextSync: number | null;
  /** Seconds the last run took. */
  duration: number | null;
  failCount: number;
  error: string | null;
  stale: boolean;
}

export interface PulseState {
  nodes: Node[];
  vms: Guest[];
  containers: Guest[];
  storage: Storage[];
  pbs: PBSInstance[];
  pveBackups: {
    backupTasks: BackupTask[];
    storageBackups: StorageBackup[];
    guestSnapshots: GuestSnapshot[];
  };
  pbsBackups: PBSBackup[];
  physicalDisks: PhysicalDisk[];
  cephClusters: CephCluster[];
  replicationJobs: ReplicationJob[];
  activeAlerts: Alert[];
  connectionHealth: Record<string, ConnectionHealth>;
  stats: { startTime: number; uptime: number; version: number; nodes: number; guests: number; [key: string]: unknown };
  lastUpdate: number | null;
}

export function emptyState(): PulseState {
  return {
    nodes: [],
    vms: [],
    containers: [],
    storage: [],
    pbs: [],
    pveBackups: { backupTasks: [], storageBackups: [], guestSnapshots: [] },
    pbsBackups: [],
    physicalDisks: [],
    cephClusters: [],
    replicationJobs: [],
    activeAlerts: [],
    connectionHealth: {},
    stats: { startTime: 0, uptime: 0, version: 0, nodes: 0, guests: 0 },
    lastUpdate: null,
  };
}

/** Fill lists a partial document leaves out, so screens never index into undefined. */
export function normalizeState(raw: Partial<PulseState>): PulseState {
  const base = emptyState();
  return {
    ...base,
    ...raw,
    pveBackups: { ...base.pveBackups, ...(raw.pveBackups ?? {}) },
    stats: { ...base.stats, ...(raw.stats ?? {}) },
    connectionHealth: raw.connectionHealth ?? {},
  };
}
