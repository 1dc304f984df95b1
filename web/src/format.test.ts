import { describe, expect, it } from "vitest";
import { formatAge, formatBytes, formatDuration, formatPercent, formatRate } from "./format";

describe("format", () => {
  it("formats bytes in binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(8 * 1024 ** 3)).toBe("8.0 GiB");
    expect(formatBytes(null)).toBe("unknown");
  });

  it("formats rates", () => {
    expect(formatRate(2048)).toBe("2.0 KiB/s");
    expect(formatRate(null)).toBe("unknown");
  });

  it("formats percent", () => {
    expect(formatPercent(42.4)).toBe("42%");
    expect(formatPercent(null)).toBe("unknown");
  });

  it("formats durations", () => {
    expect(formatDuration(42)).toBe("42s");
    expect(formatDuration(3600 * 5 + 120)).toBe("5h 2m");
    expect(formatDuration(86400 * 3 + 3600 * 4)).toBe("3d 4h");
    expect(formatDuration(null)).toBe("unknown");
  });

  it("formats ages", () => {
    expect(formatAge(null, 1000)).toBe("never");
    expect(formatAge(1000 - 7200, 1000)).toBe("2h 0m ago");
  });
});
