import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError, errorMessage } from "../../api";
import { ErrorBox, Field, Notice, Section, useAction, useAsync } from "../../components/ui";
import { renderTemplate, SAMPLE_CONTEXT } from "../../template";
import { DEFAULT_RATE_LIMIT, MAX_RATE_LIMIT, signingFields } from "../../webhookSigning";

// --- email ------------------------------------------------------------------------------------

interface EmailConfig {
  enabled: boolean;
  provider: string;
  server: string;
  port: number;
  security: "starttls" | "tls" | "none";
  username: string;
  hasPassword?: boolean;
  from: string;
  to: string[];
  replyTo: string;
}

interface EmailProvider {
  id: string;
  name: string;
  server?: string;
  port?: number;
  security?: EmailConfig["security"];
  instructions?: string;
}

const EMAIL_DEFAULTS: EmailConfig = {
  enabled: false,
  provider: "custom",
  server: "",
  port: 587,
  security: "starttls",
  username: "",
  from: "",
  to: [],
  replyTo: "",
};

const DEFAULT_PORTS = { starttls: 587, tls: 465, none: 25 };

/** Run a test request; a failed delivery (HTTP 502) still carries the service's reply to show. */
export async function runTest(path: string, body: unknown): Promise<unknown> {
  try {
    return await api.post(path, body);
  } catch (error) {
    if (error instanceof ApiError && error.status === 502 && error.body && typeof error.body === "object") return error.body;
    throw error;
  }
}

/** Show a test endpoint's reply as the service returned it. */
function TestResult({ result, testId }: { result: unknown; testId: string }) {
  if (result === null || result === undefined) return null;
  const record = (typeof result === "object" ? result : { message: String(result) }) as Record<string, unknown>;
  const ok = record.success ?? record.ok;
  const status = record.status ?? record.statusCode;
  const answer = record.response ?? record.body;
  return (
    <div class={`notice ${ok === false ? "notice-error" : "notice-success"}`} role="status" data-testid={testId}>
      <strong>{ok === false ? "Test failed" : "Test delivered"}</strong>
      {status !== undefined && status !== null ? <span> · status {String(status)}</span> : null}
      {record.error || record.message ? <div>{String(record.error ?? record.message)}</div> : null}
      {answer !== undefined && answer !== null && answer !== "" ? (
        <div>
          <div class="muted small">The service answered:</div>
          <pre class="answer">{typeof answer === "string" ? answer : JSON.stringify(answer, null, 2)}</pre>
        </div>
      ) : null}
    </div>
  );
}

function EmailSettings() {
  const config = useAsync((signal) => api.get<Partial<EmailConfig>>("/api/notifications/email", signal), []);
  const providers = useAsync((signal) => api.get<EmailProvider[]>("/api/notifications/email-providers", signal), []);
  const [form, setForm] = useState<EmailConfig>(EMAIL_DEFAULTS);
  const [password, setPassword] = useState("");
  const [recipients, setRecipients] = useState("");
  const [testResult, setTestResult] = useState<unknown>(null);
  const action = useAction();
  useEffect(() => {
    if (config.data) {
      const merged = { ...EMAIL_DEFAULTS, ...config.data } as EmailConfig;
      setForm(merged);
      setRecipients((merged.to ?? []).join(", "));
    }
  }, [config.data]);
  const providerList = Array.isArray(providers.data) ? providers.data : [];
  const set = (patch: Partial<EmailConfig>) => setForm({ ...form, ...patch });
  const choosePreset = (id: string) => {
    const preset = providerList.find((item) => item.id === id);
    if (!preset) return set({ provider: id });
    set({ provider: id, server: preset.server ?? form.server, port: preset.port ?? form.port, security: preset.security ?? form.security });
  };
  const body = () => {
    const to = recipients.split(/[,;\s]+/).filter(Boolean);
    const invalid = to.filter((address) => !/^[^@\s]+@[^@\s]+$/.test(address));
    if (invalid.length) throw new Error(`Not an email address: ${invalid.join(", ")}`);
    if (form.enabled && !form.server) throw new Error("SMTP server is required when email is enabled.");
    if (form.enabled && to.length === 0) throw new Error("Add at least one recipient.");
    // Only the fields the API takes: the loaded config also carries derived ones (tls, startTLS, hasPassword).
    return {
      enabled: form.enabled,
      provider: form.provider,
      server: form.server.trim(),
      port: Number(form.port),
      security: form.security,
      username: form.username,
      from: form.from.trim(),
      to,
      replyTo: form.replyTo.trim(),
      ...(password ? { password } : {}),
    };
  };
  const save = () =>
    action.run(async () => {
      await api.post("/api/notifications/email", body());
      setPassword("");
      config.reload();
      return "Email settings saved.";
    });
  const test = () =>
    action.run(async () => {
      setTestResult(null);
      setTestResult(await runTest("/api/notifications/email/test", body()));
    });
  const preset = providerList.find((item) => item.id === form.provider);
  if (!config.data && !config.error) {
    // The stored settings fill the form once loaded; typing before then would be overwritten.
    return (
      <Section title="Email">
        <p class="muted">Loading email settings…</p>
      </Section>
    );
  }
  return (
    <Section title="Email">
      <ErrorBox error={config.error} onRetry={config.reload} />
      <form
        class="form"
        aria-label="Email settings"
        onSubmit={(event) => {
          event.preventDefault();
          save();
        }}
      >
        <label class="checkbox">
          <input type="checkbox" checked={form.enabled} onChange={(event) => set({ enabled: event.currentTarget.checked })} />
          Send alerts by email
        </label>
        <div class="form-grid">
          <Field id="email-provider" label="Provider preset">
            <select id="email-provider" value={form.provider} onChange={(event) => choosePreset(event.currentTarget.value)}>
              <option value="custom">Custom</option>
              {providerList
                .filter((item) => item.id !== "custom")
                .map((item) => (
                  <option key={item.id} value={item.id}>
                    {item.name}
                  </option>
                ))}
            </select>
          </Field>
          <Field id="email-server" label="SMTP server">
            <input id="email-server" value={form.server} onInput={(event) => set({ server: event.currentTarget.value })} />
          </Field>
          <Field id="email-security" label="Encryption">
            <select
              id="email-security"
              value={form.security}
              onChange={(event) => {
                const security = event.currentTarget.value as EmailConfig["security"];
                set({ security, port: DEFAULT_PORTS[security] });
              }}
            >
              <option value="starttls">STARTTLS (port 587)</option>
              <option value="tls">TLS from the start (port 465)</option>
              <option value="none">None (port 25, local relays only)</option>
            </select>
          </Field>
          <Field id="email-port" label="Port">
            <input id="email-port" type="number" min={1} max={65535} value={form.port} onInput={(event) => set({ port: Number(event.currentTarget.value) })} />
          </Field>
          <Field id="email-username" label="Username">
            <input id="email-username" value={form.username} autocomplete="off" onInput={(event) => set({ username: event.currentTarget.value })} />
          </Field>
          <Field id="email-password" label="Password" hint={form.hasPassword ? "Leave blank to keep the stored password" : undefined}>
            <input id="email-password" type="password" value={password} autocomplete="new-password" onInput={(event) => setPassword(event.currentTarget.value)} />
          </Field>
          <Field id="email-from" label="From address">
            <input id="email-from" type="email" value={form.from} onInput={(event) => set({ from: event.currentTarget.value })} />
          </Field>
          <Field id="email-to" label="Recipients" hint="Separate addresses with commas">
            <input id="email-to" value={recipients} onInput={(event) => setRecipients(event.currentTarget.value)} />
          </Field>
          <Field id="email-reply-to" label="Reply-to (optional)">
            <input id="email-reply-to" type="email" value={form.replyTo} onInput={(event) => set({ replyTo: event.currentTarget.value })} />
          </Field>
        </div>
        {preset?.instructions ? <p class="muted small">{preset.instructions}</p> : null}
        <ErrorBox error={action.error} />
        {action.message ? <Notice kind="success">{action.message}</Notice> : null}
        <TestResult result={testResult} testId="email-test-result" />
        <div class="form-actions">
          <button type="button" class="button" onClick={test} disabled={action.busy}>
            Send test email
          </button>
          <button type="submit" class="button primary" disabled={action.busy}>
            Save
          </button>
        </div>
      </form>
    </Section>
  );
}

// --- webhooks ---------------------------------------------------------------------------------

interface Webhook {
  id?: string;
  name: string;
  url: string;
  method: string;
  service: string;
  enabled: boolean;
  headers: Record<string, string>;
  template: string;
  hasSigningSecret?: boolean;
  rateLimitPerMinute?: number;
  [key: string]: unknown;
}

interface WebhookTemplate {
  service: string;
  name?: string;
  method?: string;
  headers?: Record<string, string>;
  payloadTemplate?: string;
  template?: string;
  urlPattern?: string;
  examplePayload?: unknown;
  instructions?: string;
}

const EMPTY_WEBHOOK: Webhook = { name: "", url: "", method: "POST", service: "generic", enabled: true, headers: {}, template: "" };

function headersToText(headers: Record<string, string> | undefined): string {
  return Object.entries(headers ?? {})
    .map(([key, value]) => `${key}: ${value}`)
    .join("\n");
}

function textToHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  text.split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    const split = line.indexOf(":");
    if (split <= 0) throw new Error(`Header line ${index + 1} "${line}" is not "Name: value".`);
    headers[line.slice(0, split).trim()] = line.slice(split + 1).trim();
  });
  return headers;
}

/** Render the template with a sample alert: on the server when it offers a preview, else in the browser. */
function TemplatePreview({ template }: { template: string }) {
  const [server, setServer] = useState<{ text: string | null; error: string | null; unavailable: boolean }>({
    text: null,
    error: null,
    unavailable: false,
  });
  const local = useMemo(() => {
    if (!template.trim()) return { text: "", error: null as string | null };
    try {
      return { text: renderTemplate(template, SAMPLE_CONTEXT, true), error: null };
    } catch (error) {
      return { text: "", error: (error as Error).message };
    }
  }, [template]);
  useEffect(() => {
    if (!template.trim() || server.unavailable) return;
    const timer = window.setTimeout(async () => {
      try {
        const result = await api.post<{ rendered: unknown }>("/api/notifications/webhook-templates/preview", { template });
        const rendered = typeof result.rendered === "string" ? result.rendered : JSON.stringify(result.rendered);
        setServer({ text: rendered, error: null, unavailable: false });
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) setServer({ text: null, error: null, unavailable: true });
        else setServer({ text: null, error: errorMessage(error), unavailable: false });
      }
    }, 300);
    return () => window.clearTimeout(timer);
  }, [template, server.unavailable]);
  if (!template.trim()) return <p class="muted small">Empty template: the service preset's payload is sent.</p>;
  const text = server.unavailable ? local.text : server.text ?? local.text;
  const error = server.unavailable ? local.error : server.error ?? (server.text === null ? local.error : null);
  let pretty = text;
  let json = true;
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    json = false;
  }
  return (
    <div class="template-preview" aria-live="polite">
      <div class="muted small">Preview with a sample alert{!json && !error ? " (not valid JSON)" : ""}:</div>
      {error ? <div class="field-error">{error}</div> : <pre data-testid="template-preview">{pretty}</pre>}
    </div>
  );
}

function WebhookForm({ initial, templates, onDone }: { initial: Webhook; templates: WebhookTemplate[]; onDone: () => void }) {
  const [form, setForm] = useState<Webhook>(initial);
  const [headerText, setHeaderText] = useState(headersToText(initial.headers));
  const [secret, setSecret] = useState("");
  const [removeSecret, setRemoveSecret] = useState(false);
  const [rateLimit, setRateLimit] = useState(String(initial.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT));
  const [testResult, setTestResult] = useState<unknown>(null);
  const action = useAction();
  const set = (patch: Partial<Webhook>) => setForm({ ...form, ...patch });
  const preset = templates.find((item) => item.service === form.service);
  const choosePreset = (service: string) => {
    const chosen = templates.find((item) => item.service === service);
    set({
      service,
      method: chosen?.method ?? form.method,
      headers: chosen?.headers ?? form.headers,
      template: form.template || "",
    });
    if (chosen?.headers) setHeaderText(headersToText(chosen.headers));
  };
  const body = (): Webhook => {
    if (!form.name.trim()) throw new Error("Name is required.");
    if (!/^https?:\/\//i.test(form.url.trim())) throw new Error("URL must start with http:// or https://.");
    if (form.template.trim()) renderTemplate(form.template, SAMPLE_CONTEXT, true);
    const signing = signingFields({ secret, removeSecret, rateLimit });
    return { ...form, ...signing, name: form.name.trim(), url: form.url.trim(), headers: textToHeaders(headerText) };
  };
  const save = () =>
    action.run(async () => {
      const payload = body();
      if (form.id) await api.put(`/api/notifications/webhooks/${encodeURIComponent(form.id)}`, payload);
      else await api.post("/api/notifications/webhooks", payload);
      onDone();
    });
  const test = () =>
    action.run(async () => {
      setTestResult(null);
      setTestResult(await runTest("/api/notifications/webhooks/test", body()));
    });
  const prefix = form.id ? `webhook-${form.id}` : "webhook-new";
  return (
    <form
      class="card form"
      aria-label={form.id ? `Edit webhook ${initial.name}` : "New webhook"}
      onSubmit={(event) => {
        event.preventDefault();
        save();
      }}
    >
      <h3>{form.id ? `Edit ${initial.name}` : "New webhook"}</h3>
      <div class="form-grid">
        <Field id={`${prefix}-name`} label="Name">
          <input id={`${prefix}-name`} value={form.name} onInput={(event) => set({ name: event.currentTarget.value })} />
        </Field>
        <Field id={`${prefix}-service`} label="Service">
          <select id={`${prefix}-service`} value={form.service} onChange={(event) => choosePreset(event.currentTarget.value)}>
            <option value="generic">Generic JSON</option>
            {templates
              .filter((item) => item.service !== "generic")
              .map((item) => (
                <option key={item.service} value={item.service}>
                  {item.name ?? item.service}
                </option>
              ))}
          </select>
        </Field>
        <Field id={`${prefix}-url`} label="URL" hint={preset?.urlPattern}>
          <input id={`${prefix}-url`} type="url" value={form.url} onInput={(event) => set({ url: event.currentTarget.value })} />
        </Field>
        <Field id={`${prefix}-method`} label="Method">
          <select id={`${prefix}-method`} value={form.method} onChange={(event) => set({ method: event.currentTarget.value })}>
            {["POST", "PUT", "PATCH", "GET"].map((method) => (
              <option key={method}>{method}</option>
            ))}
          </select>
        </Field>
      </div>
      {preset?.instructions ? <p class="muted small">{preset.instructions}</p> : null}
      <Field id={`${prefix}-headers`} label="Headers" hint="One per line, as Name: value">
        <textarea id={`${prefix}-headers`} rows={3} value={headerText} onInput={(event) => setHeaderText(event.currentTarget.value)} />
      </Field>
      <div class="template-editor">
        <Field id={`${prefix}-template`} label="Payload template" hint="Variables: .Level .Message .Value .Threshold .ResourceName .Node …; functions: upper lower json">
          <textarea
            id={`${prefix}-template`}
            rows={8}
            class="mono"
            spellcheck={false}
            value={form.template}
            placeholder={preset?.payloadTemplate ?? preset?.template ?? '{"text": "{{.Level}}: {{.Message}}", "value": {{.Value}}}'}
            onInput={(event) => set({ template: event.currentTarget.value })}
          />
        </Field>
        <TemplatePreview template={form.template} />
      </div>
      <div class="form-grid">
        <Field
          id={`${prefix}-secret`}
          label="Signing secret"
          hint={
            initial.hasSigningSecret
              ? "A secret is set. Leave empty to keep it, or type a new one. Pulse signs each request with HMAC-SHA256 in the X-Pulse-Signature header."
              : "Optional. When set, Pulse signs each request with HMAC-SHA256 in the X-Pulse-Signature header so the receiver can check it came from Pulse."
          }
        >
          <input
            id={`${prefix}-secret`}
            type="password"
            autocomplete="new-password"
            value={secret}
            placeholder={initial.hasSigningSecret ? "Secret set (unchanged)" : "No signing"}
            aria-describedby={`${prefix}-secret-hint`}
            onInput={(event) => setSecret(event.currentTarget.value)}
          />
        </Field>
        <Field
          id={`${prefix}-rate`}
          label="Rate limit (deliveries per minute)"
          hint={`Maximum deliveries to this webhook per minute, 1 to ${MAX_RATE_LIMIT}; default ${DEFAULT_RATE_LIMIT}.`}
        >
          <input
            id={`${prefix}-rate`}
            type="number"
            min={1}
            max={MAX_RATE_LIMIT}
            step={1}
            value={rateLimit}
            aria-describedby={`${prefix}-rate-hint`}
            onInput={(event) => setRateLimit(event.currentTarget.value)}
          />
        </Field>
      </div>
      {initial.hasSigningSecret ? (
        <label class="checkbox">
          <input type="checkbox" checked={removeSecret} onChange={(event) => setRemoveSecret(event.currentTarget.checked)} />
          Remove the signing secret (send unsigned requests)
        </label>
      ) : null}
      <label class="checkbox">
        <input type="checkbox" checked={form.enabled} onChange={(event) => set({ enabled: event.currentTarget.checked })} />
        Enabled
      </label>
      <ErrorBox error={action.error} />
      <TestResult result={testResult} testId="webhook-test-result" />
      <div class="form-actions">
        <button type="button" class="button" onClick={test} disabled={action.busy}>
          Send test
        </button>
        <button type="submit" class="button primary" disabled={action.busy}>
          Save webhook
        </button>
        <button type="button" class="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function WebhookSettings() {
  const hooks = useAsync((signal) => api.get<Webhook[] | { webhooks: Webhook[] }>("/api/notifications/webhooks", signal), []);
  const templates = useAsync(
    (signal) => api.get<WebhookTemplate[] | { templates: WebhookTemplate[] }>("/api/notifications/webhook-templates", signal),
    [],
  );
  const [editing, setEditing] = useState<Webhook | null>(null);
  const action = useAction();
  const list = Array.isArray(hooks.data) ? hooks.data : hooks.data?.webhooks ?? [];
  const templateList = Array.isArray(templates.data) ? templates.data : templates.data?.templates ?? [];
  const remove = (hook: Webhook) =>
    action.run(async () => {
      if (!hook.id || !window.confirm(`Delete the webhook ${hook.name}?`)) return;
      await api.delete(`/api/notifications/webhooks/${encodeURIComponent(hook.id)}`);
      hooks.reload();
      return `Deleted ${hook.name}.`;
    });
  const done = () => {
    setEditing(null);
    hooks.reload();
  };
  return (
    <Section
      title="Webhooks"
      actions={
        <button type="button" class="button primary" disabled={editing !== null} onClick={() => setEditing({ ...EMPTY_WEBHOOK })}>
          Add webhook
        </button>
      }
    >
      <ErrorBox error={hooks.error} onRetry={hooks.reload} />
      {templates.error ? <ErrorBox error={templates.error} /> : null}
      <ErrorBox error={action.error} />
      {action.message ? <Notice kind="success">{action.message}</Notice> : null}
      {editing ? <WebhookForm initial={editing} templates={templateList} onDone={done} /> : null}
      {hooks.data && list.length === 0 ? <p class="muted">No webhooks yet.</p> : null}
      {list.length ? (
        <div class="table-wrap">
          <table class="table" aria-label="Webhooks">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Service</th>
                <th scope="col">URL</th>
                <th scope="col">Enabled</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((hook) => (
                <tr key={hook.id ?? hook.name}>
                  <td>{hook.name}</td>
                  <td>{hook.service}</td>
                  <td class="small break">{hook.url}</td>
                  <td>{hook.enabled ? "yes" : "no"}</td>
                  <td class="actions">
                    <button
                      type="button"
                      class="button small"
                      disabled={editing !== null}
                      onClick={() => setEditing({ ...EMPTY_WEBHOOK, ...hook, headers: hook.headers ?? {}, template: hook.template ?? "" })}
                    >
                      Edit
                    </button>
                    <button type="button" class="button small danger" onClick={() => remove(hook)} disabled={action.busy}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Section>
  );
}

export function NotificationSettings() {
  return (
    <>
      <EmailSettings />
      <WebhookSettings />
    </>
  );
}
