// Preview of webhook payload templates in the browser, for the template editor.
//
// It follows the daemon's renderer closely enough for a preview: {{.Name}} variables, functions
// called as {{json .Message}} or piped as {{.Message | upper}}, {{if X}}…{{else}}…{{end}},
// {{/* comments */}} and the {{- -}} whitespace trims. In JSON mode a value inside a JSON string is
// escaped without quotes and a value outside one is written as a JSON literal.
// NOTE: the daemon renders what is actually sent; a template it rejects on save can still preview here.

export type Context = Record<string, string | number | boolean | null>;

export const SAMPLE_CONTEXT: Context = {
  Level: "warning",
  Type: "cpu",
  Message: 'VM "web-01" CPU at 92.5% (threshold 80%)',
  Value: 92.5,
  Threshold: 80,
  ResourceName: "web-01",
  ResourceID: "demo:101",
  ResourceType: "guest",
  Node: "pve1",
  Instance: "demo",
  Timestamp: "2026-01-01T12:00:00Z",
  StartTime: "2026-01-01T11:55:00Z",
  Duration: "5m",
  Event: "alert",
  Acknowledged: false,
};

export class TemplateError extends Error {}

const FUNCTIONS: Record<string, (value: unknown) => unknown> = {
  upper: (value) => String(value ?? "").toUpperCase(),
  lower: (value) => String(value ?? "").toLowerCase(),
  title: (value) => String(value ?? "").replace(/\b\w/g, (char) => char.toUpperCase()),
  json: (value) => new JsonLiteral(JSON.stringify(value ?? null)),
  urlquery: (value) => encodeURIComponent(String(value ?? "")),
};

class JsonLiteral {
  constructor(readonly text: string) {}
}

function evaluate(expression: string, context: Context): unknown {
  const stages = expression.split("|").map((stage) => stage.trim());
  let value: unknown;
  stages.forEach((stage, index) => {
    const words = stage.split(/\s+/).filter(Boolean);
    if (words.length === 0) throw new TemplateError(`empty pipeline stage in "{{${expression}}}"`);
    const [head, ...args] = words;
    if (head.startsWith(".")) {
      if (index > 0 || args.length) throw new TemplateError(`unexpected "${stage}" in "{{${expression}}}"`);
      const name = head.slice(1);
      if (!(name in context)) throw new TemplateError(`unknown variable .${name}; known: ${Object.keys(context).map((key) => `.${key}`).join(", ")}`);
      value = context[name];
      return;
    }
    const fn = FUNCTIONS[head];
    if (!fn) throw new TemplateError(`unknown function "${head}"; known: ${Object.keys(FUNCTIONS).join(", ")}`);
    const input = index === 0 ? (args.length ? evaluate(args.join(" "), context) : undefined) : value;
    value = fn(input);
  });
  return value;
}

function insideJsonString(text: string): boolean {
  let inside = false;
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === "\\" && inside) {
      i += 1;
    } else if (text[i] === '"') {
      inside = !inside;
    }
  }
  return inside;
}

function write(value: unknown, jsonMode: boolean, output: string): string {
  if (value instanceof JsonLiteral) return value.text;
  if (!jsonMode) return value === null || value === undefined ? "" : String(value);
  if (insideJsonString(output)) return JSON.stringify(value === null || value === undefined ? "" : String(value)).slice(1, -1);
  return JSON.stringify(value ?? null);
}

interface Frame {
  active: boolean;
  parentActive: boolean;
  seenElse: boolean;
}

export function renderTemplate(source: string, context: Context = SAMPLE_CONTEXT, jsonMode = true): string {
  let output = "";
  let position = 0;
  const stack: Frame[] = [];
  const active = () => stack.every((frame) => frame.active);
  const pattern = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let match: RegExpExecArray | null;
  let trimNext = false;
  while ((match = pattern.exec(source)) !== null) {
    let literal = source.slice(position, match.index);
    if (trimNext) literal = literal.replace(/^\s+/, "");
    if (match[1] === "-") literal = literal.replace(/\s+$/, "");
    if (active()) output += literal;
    position = pattern.lastIndex;
    trimNext = match[3] === "-";
    const action = match[2];
    if (action.startsWith("/*")) continue;
    if (action.startsWith("if ")) {
      const parentActive = active();
      const condition = parentActive ? evaluate(action.slice(3), context) : false;
      stack.push({ active: Boolean(condition) && condition !== "false", parentActive, seenElse: false });
    } else if (action === "else") {
      const frame = stack[stack.length - 1];
      if (!frame || frame.seenElse) throw new TemplateError("{{else}} without a matching {{if}}");
      frame.seenElse = true;
      frame.active = !frame.active;
    } else if (action === "end") {
      if (!stack.pop()) throw new TemplateError("{{end}} without a matching {{if}}");
    } else if (active()) {
      output += write(evaluate(action, context), jsonMode, output);
    }
  }
  if (stack.length) throw new TemplateError("missing {{end}} for an {{if}}");
  let rest = source.slice(position);
  if (trimNext) rest = rest.replace(/^\s+/, "");
  return output + rest;
}
