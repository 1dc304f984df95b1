import { describe, expect, it } from "vitest";
import { tagBackground, tagColors, tagContrast } from "./tags";

describe("tag colours", () => {
  it("is stable for a tag", () => {
    expect(tagBackground("prod")).toEqual(tagBackground("prod"));
  });

  it("differs between tags", () => {
    expect(tagBackground("prod")).not.toEqual(tagBackground("dev"));
  });

  it("stays in the light half of the range", () => {
    for (const tag of ["a", "prod", "database", "ünïcode"]) {
      for (const channel of tagBackground(tag)) {
        expect(channel).toBeGreaterThanOrEqual(76);
        expect(channel).toBeLessThanOrEqual(255);
      }
    }
  });

  it("picks readable text", () => {
    expect(tagContrast([255, 255, 255])).toBe("dark");
    expect(tagContrast([80, 80, 80])).toBe("light");
    expect(tagColors("prod").background).toMatch(/^rgb\(/);
  });
});
