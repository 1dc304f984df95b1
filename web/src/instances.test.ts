import { describe, expect, it } from "vitest";
import { alertResourceText, nodeLabel, pveInstances } from "./instances";
import type { Alert, Guest, Node, Storage } from "./types";

const alert = (fields: Partial<Alert>) =>
  ({ resourceName: "pve1", resourceType: "node", node: "pve1", instance: "demo", ...fields }) as Alert;

describe("instances", () => {
  it("lists each connection once", () => {
    const state = {
      nodes: [{ instance: "demo" }, { instance: "lab" }] as Node[],
      vms: [{ instance: "demo" }] as Guest[],
      containers: [] as Guest[],
      storage: [{ instance: "lab" }] as Storage[],
    };
    expect(pveInstances(state)).toEqual(["demo", "lab"]);
  });

  it("adds the connection to a node name only when there are several", () => {
    expect(nodeLabel("pve1", "demo", false)).toBe("pve1");
    expect(nodeLabel("pve1", "demo", true)).toBe("pve1 · demo");
    expect(nodeLabel("pve1", null, true)).toBe("pve1");
  });

  it("names a node alert without repeating the node", () => {
    expect(alertResourceText(alert({}), false)).toBe("pve1");
    expect(alertResourceText(alert({}), true)).toBe("pve1 · demo");
    expect(alertResourceText(alert({ resourceType: null }), false)).toBe("pve1");
  });

  it("names a guest alert with its node", () => {
    const guest = alert({ resourceName: "web1", resourceType: "guest" });
    expect(alertResourceText(guest, false)).toBe("web1 on pve1");
    expect(alertResourceText(guest, true)).toBe("web1 on pve1 · demo");
  });

  it("names a datastore alert alone", () => {
    expect(alertResourceText(alert({ resourceName: "pbs/store1", resourceType: "datastore", node: null }), true)).toBe("pbs/store1");
  });

  it("shows a disk alert by its own name", () => {
    const diskAlert = alert({ resourceName: "/dev/sdb on pve1", resourceType: "physical_disk", node: "pve1" });
    expect(alertResourceText(diskAlert, false)).toBe("/dev/sdb on pve1");
    expect(alertResourceText(alert({ resourceName: "demo", resourceType: "ceph", node: null }), false)).toBe("Ceph · demo");
  });
});
