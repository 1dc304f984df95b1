import { describe, expect, it } from "vitest";
import { formatAge, formatBytes, formatDuration, formatPercent, formatRate, formatRateCompact } from "./format";

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

  it("formats compact rates in at most three digits", () => {
    expect(formatRateCompact(0)).toBe("0 B/s");
    expect(formatRateCompact(999)).toBe("999 B/s");
    expect(formatRateCompact(999.6)).toBe("1.0 KiB/s");
    expect(formatRateCompact(506.8 * 1024)).toBe("507 KiB/s");
    expect(formatRateCompact(1.44 * 1024 ** 2)).toBe("1.4 MiB/s");
    expect(formatRateCompact(13.04 * 1024 ** 2)).toBe("13 MiB/s");
    expect(formatRateCompact(9.97 * 1024 ** 2)).toBe("10 MiB/s");
    expect(formatRateCompact(9.94 * 1024 ** 2)).toBe("9.9 MiB/s");
    expect(formatRateCompact(999.7 * 1024)).toBe("1.0 MiB/s");
    expect(formatRateCompact(null)).toBe("unknown");
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
