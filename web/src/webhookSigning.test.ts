import { describe, expect, it } from "vitest";
import { signingFields } from "./webhookSigning";

describe("signingFields", () => {
  it("omits an empty secret so the stored one stays", () => {
    const fields = signingFields({ secret: "", removeSecret: false, rateLimit: "30" });
    expect(fields).toEqual({ rateLimitPerMinute: 30 });
    expect("hmacSecret" in fields).toBe(false);
  });

  it("sends a typed secret, trimmed", () => {
    expect(signingFields({ secret: "  s3cret  ", removeSecret: false, rateLimit: "12" })).toEqual({
      hmacSecret: "s3cret",
      rateLimitPerMinute: 12,
    });
  });

  it("sends an empty secret to turn signing off", () => {
    expect(signingFields({ secret: "", removeSecret: true, rateLimit: "30" }).hmacSecret).toBe("");
  });

  it("prefers a new secret over removal", () => {
    expect(signingFields({ secret: "new", removeSecret: true, rateLimit: "30" }).hmacSecret).toBe("new");
  });

  it("accepts the rate limit bounds", () => {
    expect(signingFields({ secret: "", removeSecret: false, rateLimit: "1" }).rateLimitPerMinute).toBe(1);
    expect(signingFields({ secret: "", removeSecret: false, rateLimit: "600" }).rateLimitPerMinute).toBe(600);
  });

  it.each(["", "0", "601", "2.5", "abc", "-3"])("rejects rate limit %j", (rateLimit) => {
    expect(() => signingFields({ secret: "", removeSecret: false, rateLimit })).toThrow(/Rate limit must be a whole number/);
  });
});
