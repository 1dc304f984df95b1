// The guests table's search syntax.
//
//   cpu>80  memory>=90  disk<10      numeric comparison on a percent (>, >=, <, <=, =)
//   node:pve1  tags:prod  name:web   field contains the value (case-insensitive)
//   status=running                   field equals the value exactly
//   -name:test                       a leading "-" negates the term
//   web                              a bare word matches name, vmid, node or a tag
//   "my vm"  name:"my vm"            quotes keep spaces inside one value
//
// All terms must match (AND). A guest whose value is unknown never matches a numeric
// term, whether or not the term is negated, because "unknown" is neither above nor
// below a threshold.

import type { Guest } from "./types";

export type Operator = ">" | ">=" | "<" | "<=" | "=" | ":";

export interface Term {
  field: string | null;
  operator: Operator | null;
  value: string;
  negated: boolean;
}

export interface ParsedQuery {
  terms: Term[];
  errors: string[];
}

type NumericField = "cpu" | "memory" | "disk" | "vmid" | "uptime";

const NUMERIC_FIELDS: Record<string, NumericField> = {
  cpu: "cpu",
  memory: "memory",
  mem: "memory",
  disk: "disk",
  vmid: "vmid",
  id: "vmid",
  uptime: "uptime",
};

const TEXT_FIELDS: Record<string, string> = {
  name: "name",
  node: "node",
  tag: "tags",
  tags: "tags",
  status: "status",
  type: "type",
  pool: "pool",
  os: "os",
  ip: "ip",
  instance: "instance",
};

const NUMERIC_FIELD_NAMES = new Set<string>(Object.values(NUMERIC_FIELDS));

export const QUERY_FIELDS = [...Object.keys(NUMERIC_FIELDS), ...Object.keys(TEXT_FIELDS)].sort();

/** Split on whitespace outside double quotes; the quotes themselves are dropped. */
export function tokenize(input: string): string[] {
  const tokens: string[] = [];
  let current = "";
  let quoted = false;
  let started = false;
  for (const char of input) {
    if (char === '"') {
      quoted = !quoted;
      started = true;
    } else if (!quoted && /\s/.test(char)) {
      if (started) tokens.push(current);
      current = "";
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) tokens.push(current);
  return tokens;
}

const TERM_PATTERN = /^([A-Za-z]+)(>=|<=|>|<|=|:)(.*)$/s;

export function parseQuery(input: string): ParsedQuery {
  const terms: Term[] = [];
  const errors: string[] = [];
  for (const token of tokenize(input)) {
    let text = token;
    let negated = false;
    if (text.startsWith("-") && text.length > 1) {
      negated = true;
      text = text.slice(1);
    }
    const match = TERM_PATTERN.exec(text);
    if (!match) {
      if (text === "-" || text === "") continue;
      terms.push({ field: null, operator: null, value: text.toLowerCase(), negated });
      continue;
    }
    const [, rawField, operator, value] = match;
    const field = rawField.toLowerCase();
    if (field in NUMERIC_FIELDS) {
      const canonical = NUMERIC_FIELDS[field];
      if (operator === ":") {
        // "cpu:80" reads naturally as equality; keep it as a number comparison.
        if (!isNumber(value)) {
          errors.push(`"${token}": ${canonical} needs a number, for example ${canonical}>80`);
          continue;
        }
        terms.push({ field: canonical, operator: "=", value, negated });
        continue;
      }
      if (!isNumber(value)) {
        errors.push(`"${token}": ${canonical} needs a number, for example ${canonical}>80`);
        continue;
      }
      terms.push({ field: canonical, operator: operator as Operator, value, negated });
    } else if (field in TEXT_FIELDS) {
      if (operator !== ":" && operator !== "=") {
        errors.push(`"${token}": ${field} is text; use ${field}:value or ${field}=value`);
        continue;
      }
      if (value === "") {
        errors.push(`"${token}": missing value after ${field}${operator}`);
        continue;
      }
      terms.push({ field: TEXT_FIELDS[field], operator: operator as Operator, value: value.toLowerCase(), negated });
    } else {
      errors.push(`"${token}": unknown field "${rawField}"; known fields are ${QUERY_FIELDS.join(", ")}`);
    }
  }
  return { terms, errors };
}

function isNumber(value: string): boolean {
  return value.trim() !== "" && Number.isFinite(Number(value));
}

function numericValue(guest: Guest, field: NumericField): number | null {
  switch (field) {
    case "cpu":
      return guest.cpu === null ? null : guest.cpu * 100;
    case "memory":
      return guest.memory.usage;
    case "disk":
      return guest.disk.usage;
    case "vmid":
      return guest.vmid;
    case "uptime":
      return guest.uptime;
  }
}

function textValues(guest: Guest, field: string): string[] {
  switch (field) {
    case "name":
      return [guest.name];
    case "node":
      return [guest.node];
    case "tags":
      return guest.tags;
    case "status":
      return [guest.status];
    case "type":
      // Both the API names and the words people use for them.
      return guest.type === "qemu" ? ["qemu", "vm"] : ["lxc", "ct", "container"];
    case "pool":
      return guest.pool ? [guest.pool] : [];
    case "os":
      return guest.osName ? [guest.osName] : [];
    case "ip":
      return guest.ipAddresses;
    case "instance":
      return [guest.instance];
    default:
      return [];
  }
}

function compare(actual: number, operator: Operator, expected: number): boolean {
  switch (operator) {
    case ">":
      return actual > expected;
    case ">=":
      return actual >= expected;
    case "<":
      return actual < expected;
    case "<=":
      return actual <= expected;
    default:
      return actual === expected;
  }
}

function matchesTerm(guest: Guest, term: Term): boolean {
  if (term.field === null) {
    const hit =
      guest.name.toLowerCase().includes(term.value) ||
      String(guest.vmid).includes(term.value) ||
      guest.node.toLowerCase().includes(term.value) ||
      guest.tags.some((tag) => tag.toLowerCase().includes(term.value));
    return hit !== term.negated;
  }
  if (NUMERIC_FIELD_NAMES.has(term.field)) {
    const actual = numericValue(guest, term.field as NumericField);
    if (actual === null) return false;
    return compare(actual, term.operator ?? "=", Number(term.value)) !== term.negated;
  }
  const values = textValues(guest, term.field).map((value) => value.toLowerCase());
  const hit =
    term.operator === "=" ? values.some((value) => value === term.value) : values.some((value) => value.includes(term.value));
  return hit !== term.negated;
}


/** True when the guest matches every term. */
export function matchesQuery(guest: Guest, terms: Term[]): boolean {
  for (const term of terms) {
    if (!matchesTerm(guest, term)) return false;
  }
  return true;
}
