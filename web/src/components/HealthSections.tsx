import { formatAge, formatBytes, formatDuration, formatTime, nowSeconds } from "../format";
import { cephStatus, diskStatus, disksByNode, formatUntil, pgSummary, replicationStatus, sortJobs, wearText } from "../health";
import { nodeLabel } from "../instances";
import type { CephCluster, PhysicalDisk, ReplicationJob } from "../types";
import { Section, StatusDot, UsageBar } from "./ui";

function DiskTable({ disks }: { disks: PhysicalDisk[] }) {
  return (
    <div class="table-wrap">
      <table class="table">
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Model</th>
            <th scope="col">Serial</th>
            <th scope="col">Type</th>
            <th scope="col">Size</th>
            <th scope="col">Used by</th>
            <th scope="col">SMART</th>
            <th scope="col">Wear</th>
          </tr>
        </thead>
        <tbody>
          {disks.map((disk) => (
            <tr key={disk.id} class={disk.failed ? "row-alert" : ""}>
              <td>
                {disk.devPath}
                {disk.stale ? <span class="badge warn">stale</span> : null}
              </td>
              <td>{disk.model ?? "unknown"}</td>
              <td class="small">{disk.serial ?? "unknown"}</td>
              <td>{disk.type}</td>
              <td>{formatBytes(disk.size)}</td>
              <td>{disk.usedBy ?? "-"}</td>
              <td title={disk.health ?? "not reported"}>
                <StatusDot status={diskStatus(disk)} />
              </td>
              <td>{wearText(disk)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CephPanel({ ceph, severalInstances }: { ceph: CephCluster; severalInstances: boolean }) {
  const usage = { total: ceph.total, used: ceph.used, free: ceph.free, usage: ceph.usage, unknownReason: "Ceph did not report its capacity" };
  const active = ceph.checks.filter((check) => !check.muted);
  return (
    <Section title={severalInstances ? `Ceph · ${ceph.instance}` : "Ceph"}>
      <dl class="facts">
        <dt>Health</dt>
        <dd>
          <StatusDot status={cephStatus(ceph)} /> <span class="small muted">{ceph.health ?? "not reported"}</span>
          {ceph.stale ? <span class="badge warn">stale</span> : null}
        </dd>
        <dt>Monitors</dt>
        <dd>
          {ceph.monitors.inQuorum ?? "?"} of {ceph.monitors.total ?? "?"} in quorum
        </dd>
        <dt>Managers</dt>
        <dd>
          {ceph.managers.up ?? "?"} up{ceph.managers.active ? `, active ${ceph.managers.active}` : ""}
        </dd>
        <dt>OSDs</dt>
        <dd>
          {ceph.osds.up ?? "?"} up, {ceph.osds.in ?? "?"} in, of {ceph.osds.total ?? "?"}
        </dd>
        <dt>Raw capacity</dt>
        <dd>
          <UsageBar usage={usage} label="Ceph raw capacity used" />
        </dd>
        <dt>Placement groups</dt>
        <dd>{pgSummary(ceph.placementGroups.states)}</dd>
      </dl>
      {active.length ? (
        <ul class="ceph-checks">
          {active.map((check) => (
            <li key={check.name}>
              <StatusDot status={check.severity === "HEALTH_ERR" ? "error" : "warning"} /> <strong>{check.name}</strong>: {check.message}
            </li>
          ))}
        </ul>
      ) : null}
    </Section>
  );
}

function ReplicationTable({ jobs, severalInstances }: { jobs: ReplicationJob[]; severalInstances: boolean }) {
  const now = nowSeconds();
  return (
    <div class="table-wrap">
      <table class="table">
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Guest</th>
            <th scope="col">From</th>
            <th scope="col">To</th>
            <th scope="col">Schedule</th>
            <th scope="col">Last sync</th>
            <th scope="col">Next sync</th>
            <th scope="col">Duration</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {sortJobs(jobs).map((job) => (
            <tr key={job.id} class={job.failCount > 0 ? "row-alert" : ""}>
              <td class="nowrap">{job.jobId}</td>
              <td>{job.guest}</td>
              <td>{job.source ? nodeLabel(job.source, job.instance, severalInstances) : "unknown"}</td>
              <td>{nodeLabel(job.target, job.instance, severalInstances)}</td>
              <td class="small">{job.schedule}</td>
              <td class="nowrap" title={formatTime(job.lastSync)}>
                {formatAge(job.lastSync, now)}
              </td>
              <td class="nowrap" title={formatTime(job.nextSync)}>
                {formatUntil(job.nextSync, now)}
              </td>
              <td>{job.duration === null ? "unknown" : formatDuration(job.duration)}</td>
              <td>
                <StatusDot status={replicationStatus(job)} />
                {job.failCount > 0 ? (
                  <span class="small error-text">
                    {" "}
                    {job.failCount} failed: {job.error ?? "no error text"}
                  </span>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface Props {
  disks: PhysicalDisk[];
  ceph: CephCluster[];
  jobs: ReplicationJob[];
  severalInstances: boolean;
}

/** Render the Storage page's sections for Ceph, replication and physical disks, each only when reported. */
export function HealthSections({ disks, ceph, jobs, severalInstances }: Props) {
  return (
    <>
      {ceph.map((item) => (
        <CephPanel ceph={item} severalInstances={severalInstances} key={item.id} />
      ))}
      {jobs.length ? (
        <Section title="Replication">
          <ReplicationTable jobs={jobs} severalInstances={severalInstances} />
        </Section>
      ) : null}
      {disksByNode(disks, severalInstances).map(([group, items]) => (
        <Section title={`Disks on ${group}`} key={`disks-${group}`}>
          <DiskTable disks={items} />
        </Section>
      ))}
    </>
  );
}
