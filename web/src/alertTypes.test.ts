import { describe, expect, it } from "vitest";
import { alertKind, alertKindLabel, alertKindOptions } from "./alertTypes";

const alert = (resourceType: string | null, type: string) => ({ resourceType, type });

describe("alert kinds", () => {
  it("tells disk failure from replication failure", () => {
    expect(alertKind(alert("physical_disk", "failed"))).toBe("physical_disk:failed");
    expect(alertKind(alert("replication", "failed"))).toBe("replication:failed");
    expect(alertKindLabel("physical_disk:failed")).toBe("Disk SMART failure");
    expect(alertKindLabel("replication:failed")).toBe("Replication failure");
  });

  it("labels backup and offline kinds", () => {
    expect(alertKindLabel("guest:backup_failed")).toBe("Guest backup failed");
    expect(alertKindLabel("node:offline")).toBe("Node offline");
    expect(alertKindLabel("pbs:offline")).toBe("PBS offline");
  });

  it("spells out an unknown kind", () => {
    expect(alertKindLabel("tape_drive:door_open")).toBe("Tape drive door open");
    expect(alertKindLabel(":door_open")).toBe("Door open");
    expect(alertKind(alert(null, "door_open"))).toBe(":door_open");
  });

  it("lists each kind once, sorted by label", () => {
    const options = alertKindOptions([
      alert("replication", "failed"),
      alert("physical_disk", "failed"),
      alert("guest", "backup_failed"),
      alert("replication", "failed"),
      alert("node", "offline"),
    ]);
    expect(options).toEqual([
      ["physical_disk:failed", "Disk SMART failure"],
      ["guest:backup_failed", "Guest backup failed"],
      ["node:offline", "Node offline"],
      ["replication:failed", "Replication failure"],
    ]);
  });
});
