import { describe, expect, it } from "vitest";
import { align, seriesFor, timeTickSpace, toSeconds } from "./charts";

describe("charts", () => {
  it("reads milliseconds and seconds", () => {
    expect(toSeconds(1_700_000_000_000)).toBe(1_700_000_000);
    expect(toSeconds(1_700_000_000)).toBe(1_700_000_000);
  });

  it("finds a guest, node or storage series", () => {
    const response = {
      guests: { "demo:100": { cpu: [{ timestamp: 20_000, value: 2 }, { timestamp: 10_000, value: 1 }] } },
      nodes: { "demo/pve1": { memory: [{ timestamp: 10_000, value: 50 }] } },
    };
    expect(seriesFor(response, "demo:100").cpu).toEqual([[10_000, 20_000], [1, 2]]);
    expect(seriesFor(response, "demo/pve1").memory).toEqual([[10_000], [50]]);
    expect(seriesFor(response, "missing")).toEqual({});
  });

  it("aligns metrics on one time axis", () => {
    const aligned = align({ a: [[1, 2], [10, 20]], b: [[2, 3], [5, 6]] }, ["a", "b"]);
    expect(aligned).toEqual([[1, 2, 3], [10, 20, null], [null, 5, 6]]);
  });
});

describe("timeTickSpace", () => {
  it("keeps uPlot's 50 pixels for narrow labels", () => {
    expect(timeTickSpace(20)).toBe(50);
  });

  it("adds the gap to a wide label", () => {
    // "12:45am" in the 12px axis font is about 54 pixels wide in Chromium.
    expect(timeTickSpace(53.6)).toBe(70);
    expect(timeTickSpace(53.6, 10)).toBe(64);
  });
});
