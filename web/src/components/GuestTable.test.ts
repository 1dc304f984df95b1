import { describe, expect, it } from "vitest";
import type { GuestBackup } from "../backups";
import type { Guest } from "../types";
import { sortRows, statusTitle, type Row } from "./GuestTable";

const backup: GuestBackup = { lastBackup: null, freshness: "missing", verification: null, count: 0, source: null };

function row(vmid: number, cpu: number | null, name = `guest-${vmid}`): Row {
  return { guest: { vmid, cpu, name } as Guest, backup };
}

describe("sortRows", () => {
  const rows = [row(3, 0.5), row(1, null), row(2, 0.1)];

  it("sorts ascending and descending", () => {
    expect(sortRows(rows, { key: "cpu", descending: false }).map((item) => item.guest.vmid)).toEqual([2, 3, 1]);
    expect(sortRows(rows, { key: "cpu", descending: true }).map((item) => item.guest.vmid)).toEqual([3, 2, 1]);
  });

  it("keeps unknown values last in both directions", () => {
    expect(sortRows(rows, { key: "cpu", descending: true }).at(-1)?.guest.vmid).toBe(1);
    expect(sortRows(rows, { key: "cpu", descending: false }).at(-1)?.guest.vmid).toBe(1);
  });

  it("breaks ties by vmid", () => {
    const tied = [row(9, 0.2), row(4, 0.2)];
    expect(sortRows(tied, { key: "cpu", descending: false }).map((item) => item.guest.vmid)).toEqual([4, 9]);
  });

  it("sorts names case-insensitively", () => {
    const named = [row(1, 0, "beta"), row(2, 0, "Alpha")];
    expect(sortRows(named, { key: "name", descending: false }).map((item) => item.guest.name)).toEqual(["Alpha", "beta"]);
  });
});

describe("statusTitle", () => {
  it("names the node behind an unknown status", () => {
    const title = statusTitle({ status: "unknown", node: "pve3", stale: true });
    expect(title).toBe("Status unknown: node pve3 did not report this guest (the node may be offline)");
  });

  it("repeats a known status and marks a stale one", () => {
    expect(statusTitle({ status: "running", node: "pve1", stale: false })).toBe("running");
    expect(statusTitle({ status: "stopped", node: "pve1", stale: true })).toBe("stopped (not refreshed by the last poll)");
  });
});
