import { describe, expect, it } from "vitest";
import { backoffDelay, extractState } from "./live";

describe("backoffDelay", () => {
  it("doubles from one second up to thirty", () => {
    const noJitter = () => 1;
    expect(backoffDelay(1, noJitter)).toBe(1000);
    expect(backoffDelay(2, noJitter)).toBe(2000);
    expect(backoffDelay(5, noJitter)).toBe(16000);
    expect(backoffDelay(6, noJitter)).toBe(30000);
    expect(backoffDelay(50, noJitter)).toBe(30000);
  });

  it("subtracts at most a fifth as jitter", () => {
    expect(backoffDelay(3, () => 0)).toBe(3200);
    expect(backoffDelay(3, () => 0.5)).toBe(3600);
  });
});

describe("extractState", () => {
  it("reads the server's envelope and a bare document", () => {
    const state = { nodes: [], vms: [] };
    expect(extractState({ type: "rawData", data: state })).toBe(state);
    expect(extractState({ type: "initialState", data: state })).toBe(state);
    expect(extractState(state)).toBe(state);
  });

  it("ignores other messages", () => {
    expect(extractState({ type: "pong", timestamp: 1 })).toBeNull();
    expect(extractState("text")).toBeNull();
    expect(extractState(null)).toBeNull();
  });
});
