import { describe, expect, it } from "vitest";
import { FRESH_SECONDS, indexBackups, rateFreshness } from "./backups";
import { emptyState, type Guest } from "./types";

const NOW = 1_800_000_000;

function guest(vmid: number, type: "qemu" | "lxc" = "qemu"): Guest {
  return { id: `demo:${vmid}`, vmid, instance: "demo", type } as Guest;
}

describe("rateFreshness", () => {
  it("rates missing, fresh and stale", () => {
    expect(rateFreshness(null, NOW)).toBe("missing");
    expect(rateFreshness(NOW - 3600, NOW)).toBe("fresh");
    expect(rateFreshness(NOW - FRESH_SECONDS - 1, NOW)).toBe("stale");
  });
});

describe("indexBackups", () => {
  it("picks the newest backup across PVE and PBS", () => {
    const state = emptyState();
    state.pveBackups.storageBackups = [
      { vmid: 100, instance: "demo", ctime: NOW - 90000, verification: null, isPBS: false } as never,
    ];
    state.pbsBackups = [
      { vmid: "100", backupType: "vm", backupTime: NOW - 600, verification: "ok" } as never,
      { vmid: "100", backupType: "ct", backupTime: NOW - 60, verification: null } as never,
    ];
    const lookup = indexBackups(state);
    const result = lookup(guest(100), NOW);
    expect(result.lastBackup).toBe(NOW - 600);
    expect(result.freshness).toBe("fresh");
    expect(result.verification).toBe("ok");
    expect(result.source).toBe("pbs");
    expect(result.count).toBe(2);
  });

  it("ignores failed tasks and other connections", () => {
    const state = emptyState();
    state.pveBackups.backupTasks = [
      { vmid: 101, instance: "demo", status: "ERROR: failed", endTime: NOW } as never,
      { vmid: 101, instance: "other", status: "OK", endTime: NOW } as never,
    ];
    const result = indexBackups(state)(guest(101), NOW);
    expect(result.freshness).toBe("missing");
    expect(result.lastBackup).toBeNull();
  });

  it("rates an old backup stale", () => {
    const state = emptyState();
    state.pveBackups.backupTasks = [{ vmid: 102, instance: "demo", status: "OK", endTime: NOW - 8 * 86400 } as never];
    expect(indexBackups(state)(guest(102), NOW).freshness).toBe("stale");
  });
});
