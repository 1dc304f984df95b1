import { describe, expect, it } from "vitest";
import { renderTemplate, TemplateError } from "./template";

const context = { Level: "critical", Message: 'say "hi"', Value: 92.5, Acknowledged: false };

describe("renderTemplate", () => {
  it("writes variables as JSON literals outside strings", () => {
    expect(JSON.parse(renderTemplate('{"value": {{.Value}}, "level": {{.Level}}}', context))).toEqual({ value: 92.5, level: "critical" });
  });

  it("escapes values inside JSON strings", () => {
    const text = renderTemplate('{"text": "{{.Level}}: {{.Message}}"}', context);
    expect(JSON.parse(text)).toEqual({ text: 'critical: say "hi"' });
  });

  it("applies piped and called functions", () => {
    expect(renderTemplate("{{.Level | upper}}", context, false)).toBe("CRITICAL");
    expect(renderTemplate("{{json .Message}}", context, false)).toBe('"say \\"hi\\""');
  });

  it("handles if and else", () => {
    expect(renderTemplate("{{if .Acknowledged}}ack{{else}}open{{end}}", context, false)).toBe("open");
  });

  it("trims whitespace and drops comments", () => {
    expect(renderTemplate("a  {{- /* note */ -}}  b", context, false)).toBe("ab");
  });

  it("rejects unknown variables and functions", () => {
    expect(() => renderTemplate("{{.Nope}}", context)).toThrow(TemplateError);
    expect(() => renderTemplate("{{shout .Level}}", context)).toThrow(/unknown function/);
  });

  it("rejects unbalanced blocks", () => {
    expect(() => renderTemplate("{{if .Level}}x", context)).toThrow(/missing \{\{end\}\}/);
    expect(() => renderTemplate("{{end}}", context)).toThrow(/without a matching/);
  });
});
