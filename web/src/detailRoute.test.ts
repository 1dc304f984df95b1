import { describe, expect, it } from "vitest";
import { hashWithSelection, selectionFromParams } from "./detailRoute";

describe("detail panel in the hash", () => {
  it("reads a guest or node parameter", () => {
    expect(selectionFromParams(new URLSearchParams("guest=pve1-100"))).toEqual({ kind: "guest", id: "pve1-100" });
    expect(selectionFromParams(new URLSearchParams("node=pve1"))).toEqual({ kind: "node", id: "pve1" });
  });

  it("reads no panel from an empty or blank parameter", () => {
    expect(selectionFromParams(new URLSearchParams(""))).toBeNull();
    expect(selectionFromParams(new URLSearchParams("guest="))).toBeNull();
  });

  it("adds the panel to the current route", () => {
    expect(hashWithSelection("#/overview", { kind: "guest", id: "pve1-100" })).toBe("#/overview?guest=pve1-100");
    expect(hashWithSelection("", { kind: "node", id: "pve1" })).toBe("#/?node=pve1");
    expect(hashWithSelection("#/backups", { kind: "guest", id: "demo:pve1/100" })).toBe("#/backups?guest=demo%3Apve1%2F100");
  });

  it("replaces an open panel and keeps other parameters", () => {
    expect(hashWithSelection("#/overview?view=tree&node=pve1", { kind: "guest", id: "pve1-100" })).toBe("#/overview?view=tree&guest=pve1-100");
  });

  it("removes the panel on close", () => {
    expect(hashWithSelection("#/overview?guest=pve1-100", null)).toBe("#/overview");
    expect(hashWithSelection("#/overview?view=tree&guest=pve1-100", null)).toBe("#/overview?view=tree");
  });

  it("round-trips an id with reserved characters", () => {
    const hash = hashWithSelection("#/overview", { kind: "guest", id: "a&b=c?d#e" });
    const query = hash.split("?", 2)[1];
    expect(selectionFromParams(new URLSearchParams(query))).toEqual({ kind: "guest", id: "a&b=c?d#e" });
  });
});
