import { describe, expect, it } from "vitest";
import { touchesConnection } from "./nodeForm";

describe("node form connection fields", () => {
  it("treats every field the test sends as a connection field", () => {
    for (const key of ["type", "host", "auth", "user", "tokenName", "tokenValue", "password", "verifySSL", "fingerprint"]) {
      expect(touchesConnection({ [key]: "x" }), key).toBe(true);
    }
  });

  it("keeps the result when only the name or enabled switch changes", () => {
    expect(touchesConnection({ name: "pve-lab" })).toBe(false);
    expect(touchesConnection({ enabled: false })).toBe(false);
  });

  it("finds a connection field in a patch with several fields", () => {
    expect(touchesConnection({ name: "pve-lab", host: "https://127.0.0.1:8006" })).toBe(true);
  });
});
