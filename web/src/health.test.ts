import { describe, expect, it } from "vitest";
import { cephStatus, diskStatus, disksByNode, formatUntil, pgSummary, replicationStatus, sortJobs, wearText } from "./health";
import type { CephCluster, PhysicalDisk, ReplicationJob } from "./types";

const disk = (fields: Partial<PhysicalDisk>) =>
  ({ id: "d", node: "pve1", instance: "lab", devPath: "/dev/sda", failed: false, health: "PASSED", wearout: null, ...fields }) as PhysicalDisk;
const job = (fields: Partial<ReplicationJob>) =>
  ({ id: "j", jobId: "100-0", guest: 100, failCount: 0, disabled: false, stale: false, ...fields }) as ReplicationJob;

describe("health", () => {
  it("groups disks by node and sorts them", () => {
    const groups = disksByNode(
      [disk({ node: "pve2", devPath: "/dev/sda" }), disk({ devPath: "/dev/sdb" }), disk({ devPath: "/dev/nvme0n1" })],
      false,
    );
    expect(groups.map(([label, items]) => [label, items.map((item) => item.devPath)])).toEqual([
      ["pve1", ["/dev/nvme0n1", "/dev/sdb"]],
      ["pve2", ["/dev/sda"]],
    ]);
  });

  it("labels groups with the connection when there are several", () => {
    expect(disksByNode([disk({})], true)[0][0]).toBe("pve1 · lab");
  });

  it("words disk health", () => {
    expect(diskStatus(disk({ failed: true, health: "FAILED" }))).toBe("failed");
    expect(diskStatus(disk({}))).toBe("ok");
    expect(diskStatus(disk({ failed: null, health: "UNKNOWN" }))).toBe("unknown");
    expect(diskStatus(disk({ failed: null, health: null }))).toBe("unknown");
  });

  it("shows wear as life used", () => {
    expect(wearText(disk({ wearout: 97 }))).toBe("3% used");
    expect(wearText(disk({ wearout: null }))).toBe("N/A");
  });

  it("maps Ceph health to status words", () => {
    expect(cephStatus({ health: "HEALTH_OK" } as CephCluster)).toBe("ok");
    expect(cephStatus({ health: "HEALTH_WARN" } as CephCluster)).toBe("warning");
    expect(cephStatus({ health: "HEALTH_ERR" } as CephCluster)).toBe("error");
    expect(cephStatus({ health: null } as CephCluster)).toBe("unknown");
  });

  it("summarizes placement groups largest first", () => {
    expect(pgSummary({ "active+degraded": 3, "active+clean": 126 })).toBe("126 active+clean, 3 active+degraded");
    expect(pgSummary({})).toBe("none reported");
  });

  it("puts failed replication jobs first", () => {
    const jobs = sortJobs([job({ guest: 100 }), job({ guest: 200, jobId: "200-0", failCount: 2 }), job({ guest: 150, jobId: "150-0" })]);
    expect(jobs.map((item) => item.jobId)).toEqual(["200-0", "100-0", "150-0"]);
    expect(replicationStatus(jobs[0])).toBe("failed");
    expect(replicationStatus(job({ disabled: true, failCount: 1 }))).toBe("disabled");
    expect(replicationStatus(job({ stale: true }))).toBe("stale");
  });

  it("words the time until the next sync", () => {
    expect(formatUntil(1_000 + 720, 1_000)).toBe("in 12m");
    expect(formatUntil(900, 1_000)).toBe("due");
    expect(formatUntil(null, 1_000)).toBe("unknown");
  });
});
