import { describe, expect, it } from "vitest";
import { emptyFieldHint, fieldLabel, humanize, orderFields } from "./thresholdLabels";

const keys = (list: string[]) => orderFields(list.map((key) => [key, null] as [string, null])).map(([key]) => key);

describe("threshold labels", () => {
  it("writes acronyms and units properly", () => {
    expect(fieldLabel("cpu")).toBe("CPU");
    expect(fieldLabel("pbs")).toBe("PBS");
    expect(fieldLabel("gcFailed")).toBe("GC failed");
    expect(fieldLabel("delaySeconds")).toBe("Delay (seconds)");
  });

  it("falls back to the humanized key", () => {
    expect(fieldLabel("poweredOff")).toBe("Powered off");
    expect(humanize("maxNotificationsPerHour")).toBe("Max notifications per hour");
  });

  it("puts trigger before clear and start before end", () => {
    expect(keys(["clear", "critical", "delaySeconds", "trigger"])).toEqual(["trigger", "clear", "critical", "delaySeconds"]);
    expect(keys(["enabled", "end", "start", "timezone"])).toEqual(["enabled", "start", "end", "timezone"]);
  });

  it("orders the critical hold categories on their own", () => {
    const entries = ["backup", "offline", "performance", "storage"].map((key) => [key, true] as [string, boolean]);
    expect(orderFields(entries, "holdCritical").map(([key]) => key)).toEqual(["performance", "storage", "offline", "backup"]);
  });

  it("keeps unknown keys after known ones in their order", () => {
    expect(keys(["zeta", "alpha", "enabled"])).toEqual(["enabled", "zeta", "alpha"]);
  });
});

describe("empty field hints", () => {
  it("names the level an empty critical field uses", () => {
    expect(emptyFieldHint("critical", 5)).toBe("trigger + 10");
  });

  it("shows the configured default delay", () => {
    expect(emptyFieldHint("delaySeconds", 5)).toBe("default (5 s)");
    expect(emptyFieldHint("delaySeconds", 30)).toBe("default (30 s)");
    expect(emptyFieldHint("delaySeconds", null)).toBe("default");
  });
});
