import { describe, expect, it } from "vitest";
import { matchesQuery, parseQuery, tokenize } from "./query";
import type { Guest, Usage } from "./types";

function usage(percent: number | null): Usage {
  return { total: 100, used: percent, free: null, usage: percent, unknownReason: percent === null ? "no data" : null };
}

function guest(overrides: Partial<Guest> = {}): Guest {
  return {
    id: "demo:100",
    vmid: 100,
    name: "web-01",
    node: "pve1",
    instance: "demo",
    type: "qemu",
    status: "running",
    template: false,
    cpu: 0.5,
    cpus: 2,
    memory: usage(60),
    balloon: null,
    disk: usage(30),
    networkIn: 0,
    networkOut: 0,
    diskRead: 0,
    diskWrite: 0,
    uptime: 3600,
    tags: ["prod", "web"],
    lock: null,
    haState: null,
    pool: null,
    agentEnabled: true,
    agentStatus: "running",
    osName: "Debian 12",
    ipAddresses: ["10.0.0.5"],
    filesystems: [],
    stale: false,
    staleFields: [],
    lastSeen: null,
    ...overrides,
  };
}

function matches(query: string, item: Guest): boolean {
  const parsed = parseQuery(query);
  expect(parsed.errors).toEqual([]);
  return matchesQuery(item, parsed.terms);
}

describe("tokenize", () => {
  it("splits on whitespace", () => {
    expect(tokenize("  cpu>80   node:pve1 ")).toEqual(["cpu>80", "node:pve1"]);
  });

  it("keeps quoted spaces", () => {
    expect(tokenize('name:"my vm" -tags:"a b"')).toEqual(["name:my vm", "-tags:a b"]);
  });
});

describe("parseQuery", () => {
  it("parses comparisons and negation", () => {
    const { terms, errors } = parseQuery("cpu>80 memory>=90 -name:test");
    expect(errors).toEqual([]);
    expect(terms).toEqual([
      { field: "cpu", operator: ">", value: "80", negated: false },
      { field: "memory", operator: ">=", value: "90", negated: false },
      { field: "name", operator: ":", value: "test", negated: true },
    ]);
  });

  it("maps aliases to one field", () => {
    expect(parseQuery("mem<5").terms[0].field).toBe("memory");
    expect(parseQuery("tag:prod").terms[0].field).toBe("tags");
  });

  it("reports unknown fields", () => {
    const { terms, errors } = parseQuery("colour:red");
    expect(terms).toEqual([]);
    expect(errors[0]).toContain('unknown field "colour"');
  });

  it("reports a number field without a number", () => {
    const { errors } = parseQuery("cpu>high");
    expect(errors[0]).toContain("cpu needs a number");
  });

  it("reports a comparison on a text field", () => {
    const { errors } = parseQuery("node>pve1");
    expect(errors[0]).toContain("node is text");
  });

  it("reports a missing text value", () => {
    const { errors } = parseQuery("node:");
    expect(errors[0]).toContain("missing value");
  });

  it("ignores a lone dash", () => {
    expect(parseQuery("-").terms).toEqual([]);
  });
});

describe("matchesQuery", () => {
  it("compares cpu as a percent", () => {
    expect(matches("cpu>40", guest())).toBe(true);
    expect(matches("cpu>80", guest())).toBe(false);
    expect(matches("cpu>=50", guest())).toBe(true);
    expect(matches("cpu<50", guest())).toBe(false);
    expect(matches("cpu<=50", guest())).toBe(true);
  });

  it("compares memory and disk percent", () => {
    expect(matches("memory>=60", guest())).toBe(true);
    expect(matches("memory>=90", guest())).toBe(false);
    expect(matches("disk<31", guest())).toBe(true);
  });

  it("never matches unknown values", () => {
    const unknown = guest({ cpu: null, memory: usage(null) });
    expect(matches("cpu>10", unknown)).toBe(false);
    expect(matches("-cpu>10", unknown)).toBe(false);
    expect(matches("memory<101", unknown)).toBe(false);
  });

  it("matches node and tag substrings", () => {
    expect(matches("node:pve1", guest())).toBe(true);
    expect(matches("node:pve2", guest())).toBe(false);
    expect(matches("tags:prod", guest())).toBe(true);
    expect(matches("tags:dev", guest())).toBe(false);
  });

  it("matches exact values with =", () => {
    expect(matches("status=running", guest())).toBe(true);
    expect(matches("status=run", guest())).toBe(false);
    expect(matches("status:run", guest())).toBe(true);
  });

  it("negates a term", () => {
    expect(matches("-name:test", guest())).toBe(true);
    expect(matches("-name:test", guest({ name: "test-box" }))).toBe(false);
  });

  it("combines terms with AND", () => {
    expect(matches("cpu>40 node:pve1 tags:prod", guest())).toBe(true);
    expect(matches("cpu>40 node:pve2", guest())).toBe(false);
  });

  it("matches bare words across name, vmid, node and tags", () => {
    expect(matches("web", guest())).toBe(true);
    expect(matches("100", guest())).toBe(true);
    expect(matches("PVE1", guest())).toBe(true);
    expect(matches("nothing", guest())).toBe(false);
    expect(matches("-web", guest())).toBe(false);
  });

  it("knows type words", () => {
    expect(matches("type:vm", guest())).toBe(true);
    expect(matches("type:ct", guest({ type: "lxc" }))).toBe(true);
    expect(matches("type:ct", guest())).toBe(false);
  });

  it("treats vmid:N as equality", () => {
    expect(matches("vmid:100", guest())).toBe(true);
    expect(matches("vmid:10", guest())).toBe(false);
  });

  it("matches an empty query", () => {
    expect(matches("", guest())).toBe(true);
  });
});
