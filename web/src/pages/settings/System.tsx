import { useEffect, useState } from "preact/hooks";
import { api } from "../../api";
import { ErrorBox, Field, Notice, Section, useAction, useAsync } from "../../components/ui";
import { formatDuration, formatTime } from "../../format";
import { GZIP_SUPPORTED, gzipEnabled, setGzipEnabled } from "../../live";
import { setTheme, themeStore, type ThemeChoice } from "../../theme";
import { useStore } from "../../store";

interface SystemSettingsDoc {
  pollingInterval: number;
  pollingTimeout: number;
  retentionDays: number;
  publicUrl: string | null;
  allowedOrigins: string[];
  allowEmbedding: boolean;
  embeddingOrigins: string[];
  theme: ThemeChoice;
  updateChannel: "stable" | "rc";
  autoUpdateCheck: boolean;
}

function lines(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

export function SystemSettings() {
  const loaded = useAsync((signal) => api.get<SystemSettingsDoc>("/api/config/system", signal), []);
  const [form, setForm] = useState<SystemSettingsDoc | null>(null);
  const [origins, setOrigins] = useState("");
  const [embedding, setEmbedding] = useState("");
  const theme = useStore(themeStore);
  const [gzip, setGzip] = useState(gzipEnabled());
  const action = useAction();
  useEffect(() => {
    if (!loaded.data) return;
    setForm(loaded.data);
    setOrigins((loaded.data.allowedOrigins ?? []).join("\n"));
    setEmbedding((loaded.data.embeddingOrigins ?? []).join("\n"));
  }, [loaded.data]);
  const set = (patch: Partial<SystemSettingsDoc>) => form && setForm({ ...form, ...patch });
  const save = () =>
    action.run(async () => {
      if (!form) return;
      if (!(form.pollingInterval >= 1 && form.pollingInterval <= 3600)) throw new Error("Polling interval must be 1–3600 seconds.");
      if (!(form.retentionDays >= 1)) throw new Error("Retention must be at least 1 day.");
      const saved = await api.post<SystemSettingsDoc>("/api/config/system", {
        ...form,
        publicUrl: form.publicUrl || null,
        allowedOrigins: lines(origins),
        embeddingOrigins: lines(embedding),
        theme,
      });
      setForm(saved);
      return "System settings saved.";
    });
  return (
    <>
      <Section title="Appearance">
        <div class="segmented" role="radiogroup" aria-label="Theme">
          {(["light", "dark", "system"] as ThemeChoice[]).map((choice) => (
            <button type="button" role="radio" key={choice} aria-checked={theme === choice} class={theme === choice ? "active" : ""} onClick={() => setTheme(choice)}>
              {choice === "system" ? "System" : choice === "light" ? "Light" : "Dark"}
            </button>
          ))}
        </div>
        <label class="checkbox">
          <input
            type="checkbox"
            checked={gzip}
            disabled={!GZIP_SUPPORTED}
            onChange={(event) => {
              setGzip(event.currentTarget.checked);
              setGzipEnabled(event.currentTarget.checked);
            }}
          />
          Compress live updates in this browser (much less data over slow links, more time per update)
        </label>
      </Section>
      <Section title="System">
        <ErrorBox error={loaded.error} onRetry={loaded.reload} />
        {form ? (
          <form
            class="form"
            aria-label="System settings"
            onSubmit={(event) => {
              event.preventDefault();
              save();
            }}
          >
            <div class="form-grid">
              <Field id="polling-interval" label="Polling interval (seconds)">
                <input id="polling-interval" type="number" min={1} max={3600} value={form.pollingInterval} onInput={(event) => set({ pollingInterval: Number(event.currentTarget.value) })} />
              </Field>
              <Field id="polling-timeout" label="Poll timeout (seconds)">
                <input id="polling-timeout" type="number" min={1} max={300} value={form.pollingTimeout} onInput={(event) => set({ pollingTimeout: Number(event.currentTarget.value) })} />
              </Field>
              <Field id="retention-days" label="Keep metric history (days)">
                <input id="retention-days" type="number" min={1} max={3650} value={form.retentionDays} onInput={(event) => set({ retentionDays: Number(event.currentTarget.value) })} />
              </Field>
              <Field id="public-url" label="Public URL" hint="Used in notification links">
                <input id="public-url" type="url" value={form.publicUrl ?? ""} onInput={(event) => set({ publicUrl: event.currentTarget.value })} />
              </Field>
              <Field id="update-channel" label="Update channel">
                <select id="update-channel" value={form.updateChannel} onChange={(event) => set({ updateChannel: event.currentTarget.value as "stable" | "rc" })}>
                  <option value="stable">Stable</option>
                  <option value="rc">Release candidates</option>
                </select>
              </Field>
            </div>
            <Field id="allowed-origins" label="Allowed origins (CORS)" hint="One per line, e.g. https://dashboard.example.com">
              <textarea id="allowed-origins" rows={2} value={origins} onInput={(event) => setOrigins(event.currentTarget.value)} />
            </Field>
            <label class="checkbox">
              <input type="checkbox" checked={form.allowEmbedding} onChange={(event) => set({ allowEmbedding: event.currentTarget.checked })} />
              Allow embedding in frames
            </label>
            {form.allowEmbedding ? (
              <Field id="embedding-origins" label="Origins allowed to embed" hint="One per line">
                <textarea id="embedding-origins" rows={2} value={embedding} onInput={(event) => setEmbedding(event.currentTarget.value)} />
              </Field>
            ) : null}
            <label class="checkbox">
              <input type="checkbox" checked={form.autoUpdateCheck} onChange={(event) => set({ autoUpdateCheck: event.currentTarget.checked })} />
              Check for updates automatically
            </label>
            <ErrorBox error={action.error} />
            {action.message ? <Notice kind="success">{action.message}</Notice> : null}
            <div class="form-actions">
              <button type="submit" class="button primary" disabled={action.busy}>
                Save
              </button>
            </div>
          </form>
        ) : null}
      </Section>
    </>
  );
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

export function TransferSettings() {
  const [exportPass, setExportPass] = useState("");
  const [importPass, setImportPass] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const exporting = useAction();
  const importing = useAction();
  const doExport = () =>
    exporting.run(async () => {
      if (exportPass.length < 12) throw new Error("Use a passphrase of at least 12 characters; it encrypts the credentials in the file.");
      const result = await api.post<unknown>("/api/config/export", { passphrase: exportPass });
      const text = typeof result === "string" ? result : JSON.stringify(result);
      download(`pulse-config-${new Date().toISOString().slice(0, 10)}.json`, text);
      setExportPass("");
      return "Export downloaded.";
    });
  const doImport = () =>
    importing.run(async () => {
      if (!file) throw new Error("Choose an export file first.");
      if (!importPass) throw new Error("Enter the passphrase the export was made with.");
      if (!window.confirm("Importing replaces nodes, alert settings, notifications and system settings. Continue?")) return;
      const text = await file.text();
      let data: unknown = text;
      try {
        const parsed = JSON.parse(text);
        data = parsed && typeof parsed === "object" && "data" in parsed ? (parsed as { data: unknown }).data : parsed;
      } catch {
        // Not JSON: send the file's text as it is.
      }
      const result = await api.post<{ imported?: { sections?: string[] }; exportedAt?: number | string }>("/api/config/import", {
        passphrase: importPass,
        data,
      });
      setImportPass("");
      const sections = result?.imported?.sections?.length ? `: ${result.imported.sections.join(", ")}` : "";
      return `Configuration imported${sections}.`;
    });
  return (
    <>
      <Section title="Export">
        <p class="muted">Downloads nodes, credentials (encrypted with the passphrase), alert and notification settings, system settings and guest metadata.</p>
        <div class="inline-form">
          <Field id="export-passphrase" label="Passphrase">
            <input id="export-passphrase" type="password" autocomplete="new-password" value={exportPass} onInput={(event) => setExportPass(event.currentTarget.value)} />
          </Field>
          <button type="button" class="button primary" onClick={doExport} disabled={exporting.busy}>
            Export
          </button>
        </div>
        <ErrorBox error={exporting.error} />
        {exporting.message ? <Notice kind="success">{exporting.message}</Notice> : null}
      </Section>
      <Section title="Import">
        <div class="inline-form">
          <Field id="import-file" label="Export file">
            <input id="import-file" type="file" accept="application/json,.json" onChange={(event) => setFile(event.currentTarget.files?.[0] ?? null)} />
          </Field>
          <Field id="import-passphrase" label="Passphrase">
            <input id="import-passphrase" type="password" value={importPass} onInput={(event) => setImportPass(event.currentTarget.value)} />
          </Field>
          <button type="button" class="button primary" onClick={doImport} disabled={importing.busy}>
            Import
          </button>
        </div>
        <ErrorBox error={importing.error} />
        {importing.message ? <Notice kind="success">{importing.message}</Notice> : null}
      </Section>
    </>
  );
}

interface VersionInfo {
  version: string;
  build?: string;
  runtime?: string;
  channel?: string;
  isDocker?: boolean;
}

interface UpdateInfo {
  enabled?: boolean;
  available?: boolean;
  currentVersion?: string;
  latestVersion?: string | null;
  releaseName?: string;
  releaseNotes?: string;
  releaseUrl?: string;
  publishedAt?: string | null;
  canApply?: boolean;
  message?: string;
}

interface UpdateStatus {
  state: "idle" | "running" | "succeeded" | "failed";
  phase?: string | null;
  message?: string;
  version?: string | null;
}

export function AboutSettings() {
  const version = useAsync((signal) => api.get<VersionInfo>("/api/version", signal), []);
  const health = useAsync((signal) => api.get<{ uptime: number }>("/api/health", signal), []);
  const [update, setUpdate] = useState<UpdateInfo | null>(null);
  const [status, setStatus] = useState<UpdateStatus | null>(null);
  const action = useAction();
  const check = () =>
    action.run(async () => {
      setUpdate(await api.get<UpdateInfo>("/api/updates/check"));
    });
  // NOTE: while an update runs the page asks for its status every 2 s; the daemon restarts at the end.
  useEffect(() => {
    if (status?.state !== "running") return;
    const timer = window.setInterval(async () => {
      try {
        setStatus(await api.get<UpdateStatus>("/api/updates/status"));
      } catch {
        // The daemon is restarting; keep asking.
      }
    }, 2000);
    return () => window.clearInterval(timer);
  }, [status?.state]);
  const apply = () =>
    action.run(async () => {
      if (!update?.latestVersion || !window.confirm(`Install Pulse ${update.latestVersion} and restart?`)) return;
      const result = await api.post<{ status: UpdateStatus }>("/api/updates/apply", { version: update.latestVersion });
      setStatus(result.status);
    });
  return (
    <Section title="About Pulse">
      <ErrorBox error={version.error} onRetry={version.reload} />
      {version.data ? (
        <dl class="facts">
          <dt>Version</dt>
          <dd data-testid="version">{version.data.version}</dd>
          <dt>Build</dt>
          <dd>{version.data.build ?? "-"}</dd>
          <dt>Runtime</dt>
          <dd>{version.data.runtime ?? "-"}</dd>
          <dt>Update channel</dt>
          <dd>{version.data.channel ?? "-"}</dd>
          <dt>Container</dt>
          <dd>{version.data.isDocker ? "yes" : "no"}</dd>
          <dt>Uptime</dt>
          <dd>{health.data ? formatDuration(health.data.uptime) : "-"}</dd>
        </dl>
      ) : null}
      <div class="form-actions">
        <button type="button" class="button" onClick={check} disabled={action.busy}>
          Check for updates
        </button>
        {update?.available && update.canApply ? (
          <button type="button" class="button primary" onClick={apply} disabled={action.busy || status?.state === "running"}>
            Install {update.latestVersion}
          </button>
        ) : null}
      </div>
      <ErrorBox error={action.error} />
      {update ? (
        <Notice kind={update.available ? "info" : "success"}>
          <div>{update.message ?? (update.available ? `Version ${update.latestVersion} is available.` : "Pulse is up to date.")}</div>
          {update.releaseName ? <div class="small">{update.releaseName}</div> : null}
          {update.publishedAt ? <div class="small">Published {formatTime(Date.parse(update.publishedAt) / 1000)}</div> : null}
          {update.releaseUrl ? (
            <a href={update.releaseUrl} target="_blank" rel="noopener noreferrer">
              Release page
            </a>
          ) : null}
          {update.releaseNotes ? <pre class="answer">{update.releaseNotes}</pre> : null}
        </Notice>
      ) : null}
      {status ? (
        <Notice kind={status.state === "failed" ? "error" : "info"}>
          Update {status.state}
          {status.phase ? ` (${status.phase})` : ""}
          {status.message ? `: ${status.message}` : ""}
        </Notice>
      ) : null}
    </Section>
  );
}
