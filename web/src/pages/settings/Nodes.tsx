import { useRef, useState } from "preact/hooks";
import { api } from "../../api";
import { CopyButton, ErrorBox, Field, Notice, Section, StatusDot, useAction, useAsync } from "../../components/ui";
import { formatAge, formatTime, nowSeconds } from "../../format";
import { stateStore, useStore } from "../../store";
import type { ConnectionHealth } from "../../types";
import { touchesConnection } from "./nodeForm";

/** Pick the node's connection status: live from the WebSocket state once polled, else as the list reported it. */
function liveStatus(node: ConfiguredNode, health: ConnectionHealth | undefined) {
  if (!node.enabled || !health) {
    return { status: node.status ?? "unknown", message: node.statusMessage ?? null, lastSuccess: node.lastSuccess ?? null };
  }
  return { status: health.healthy ? "connected" : "error", message: health.message, lastSuccess: health.lastSuccess };
}

export interface ConfiguredNode {
  id: string;
  type: string;
  name: string;
  host: string;
  user: string;
  tokenName: string;
  hasPassword: boolean;
  hasToken: boolean;
  verifySSL: boolean;
  fingerprint: string;
  enabled: boolean;
  status?: string;
  statusMessage?: string | null;
  lastSuccess?: number | null;
}

interface TestReport {
  ok: boolean;
  message: string;
  reachable?: boolean;
  authenticated?: boolean;
  fingerprint?: string | null;
  version?: string | null;
  clusterName?: string | null;
  members?: string[];
  missingPrivileges?: string[];
}

interface FormState {
  type: "pve" | "pbs";
  name: string;
  host: string;
  auth: "token" | "password";
  user: string;
  tokenName: string;
  tokenValue: string;
  password: string;
  verifySSL: boolean;
  fingerprint: string;
  enabled: boolean;
}

const EMPTY: FormState = {
  type: "pve",
  name: "",
  host: "",
  auth: "token",
  user: "",
  tokenName: "",
  tokenValue: "",
  password: "",
  verifySSL: true,
  fingerprint: "",
  enabled: true,
};

function fromNode(node: ConfiguredNode): FormState {
  return {
    ...EMPTY,
    type: node.type === "pbs" ? "pbs" : "pve",
    name: node.name,
    host: node.host,
    auth: node.hasPassword && !node.hasToken ? "password" : "token",
    user: node.user,
    tokenName: node.tokenName,
    verifySSL: node.verifySSL,
    fingerprint: node.fingerprint,
    enabled: node.enabled,
  };
}

/** Build the request body; secrets left blank while editing keep their stored values. */
function toBody(form: FormState, editing: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: form.type,
    name: form.name.trim(),
    host: form.host.trim(),
    user: form.user.trim(),
    verifySSL: form.verifySSL,
    fingerprint: form.fingerprint.trim(),
    enabled: form.enabled,
  };
  if (form.auth === "token") {
    body.tokenName = form.tokenName.trim();
    if (form.tokenValue || !editing) body.tokenValue = form.tokenValue;
    if (!editing) body.password = "";
  } else {
    if (form.password || !editing) body.password = form.password;
    if (!editing) {
      body.tokenName = "";
      body.tokenValue = "";
    }
  }
  return body;
}

function formProblems(form: FormState, editing: boolean): string[] {
  const problems: string[] = [];
  if (!form.name.trim()) problems.push("Name is required.");
  if (!form.host.trim()) problems.push("Host is required, for example https://192.168.1.10:8006.");
  else if (!/^https?:\/\//i.test(form.host.trim())) problems.push("Host must start with https:// (or http://).");
  if (!form.user.trim()) problems.push("User is required, for example monitor@pve.");
  if (form.auth === "token") {
    if (!form.tokenName.trim()) problems.push("Token name is required for token authentication.");
    if (!editing && !form.tokenValue) problems.push("Token secret is required.");
  } else if (!editing && !form.password) {
    problems.push("Password is required.");
  }
  return problems;
}

function authText(node: ConfiguredNode): string {
  if (node.hasToken) return `token ${node.user}!${node.tokenName}`;
  if (node.hasPassword) return `password (${node.user})`;
  return "none";
}

function TestResult({ report }: { report: TestReport }) {
  return (
    <div class={`notice ${report.ok ? "notice-success" : "notice-error"}`} role="status" data-testid="connection-test-result">
      <strong>{report.ok ? "Connection OK" : "Connection failed"}</strong>: {report.message}
      <ul class="plain-list small">
        {report.version ? <li>Version {report.version}</li> : null}
        {report.clusterName ? (
          <li>
            Cluster {report.clusterName}
            {report.members?.length ? ` (${report.members.join(", ")})` : ""}
          </li>
        ) : null}
        {report.fingerprint ? <li>Certificate fingerprint {report.fingerprint}</li> : null}
        {report.missingPrivileges?.length ? <li>Missing privileges: {report.missingPrivileges.join(", ")}</li> : null}
      </ul>
    </div>
  );
}

function NodeForm({ editing, onDone }: { editing: ConfiguredNode | null; onDone: () => void }) {
  const [form, setForm] = useState<FormState>(editing ? fromNode(editing) : EMPTY);
  const [report, setReport] = useState<TestReport | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const action = useAction();
  // Counts connection-field edits, so a test reply that arrives after an edit is dropped as stale.
  const connectionEdits = useRef(0);
  const set = (patch: Partial<FormState>) => {
    setForm({ ...form, ...patch });
    if (touchesConnection(patch)) {
      connectionEdits.current += 1;
      setReport(null);
      action.setError(null);
    }
  };
  const prefix = editing ? `edit-${editing.id}` : "add";

  const test = () =>
    action.run(async () => {
      setReport(null);
      const found = formProblems(form, editing !== null);
      setProblems(found);
      if (found.length) return;
      const body = toBody(form, editing !== null);
      if (editing) body.id = editing.id;
      const startedAt = connectionEdits.current;
      const reply = await api.post<TestReport>("/api/config/nodes/test-connection", body);
      if (connectionEdits.current === startedAt) setReport(reply);
    });
  const save = () =>
    action.run(async () => {
      const found = formProblems(form, editing !== null);
      setProblems(found);
      if (found.length) return;
      const body = toBody(form, editing !== null);
      if (editing) await api.put(`/api/config/nodes/${encodeURIComponent(editing.id)}`, body);
      else await api.post("/api/config/nodes", body);
      onDone();
    });

  return (
    <form
      class="card form"
      aria-label={editing ? `Edit node ${editing.name}` : "Add node"}
      onSubmit={(event) => {
        event.preventDefault();
        save();
      }}
    >
      <h3>{editing ? `Edit ${editing.name}` : "Add a node"}</h3>
      <div class="form-grid">
        <Field id={`${prefix}-type`} label="Type">
          <select id={`${prefix}-type`} value={form.type} onChange={(event) => set({ type: event.currentTarget.value as FormState["type"] })}>
            <option value="pve">Proxmox VE</option>
            <option value="pbs">Proxmox Backup Server</option>
          </select>
        </Field>
        <Field id={`${prefix}-name`} label="Name">
          <input id={`${prefix}-name`} value={form.name} required onInput={(event) => set({ name: event.currentTarget.value })} />
        </Field>
        <Field id={`${prefix}-host`} label="Host URL" hint={form.type === "pve" ? "e.g. https://192.168.1.10:8006" : "e.g. https://192.168.1.20:8007"}>
          <input id={`${prefix}-host`} type="url" value={form.host} required onInput={(event) => set({ host: event.currentTarget.value })} />
        </Field>
        <Field id={`${prefix}-auth`} label="Authentication">
          <select id={`${prefix}-auth`} value={form.auth} onChange={(event) => set({ auth: event.currentTarget.value as FormState["auth"] })}>
            <option value="token">API token</option>
            <option value="password">Password</option>
          </select>
        </Field>
        <Field id={`${prefix}-user`} label="User" hint="e.g. monitor@pve or root@pam">
          <input id={`${prefix}-user`} value={form.user} onInput={(event) => set({ user: event.currentTarget.value })} autocomplete="off" />
        </Field>
        {form.auth === "token" ? (
          <>
            <Field id={`${prefix}-token-name`} label="Token name" hint="The part after ! in user@realm!name">
              <input id={`${prefix}-token-name`} value={form.tokenName} onInput={(event) => set({ tokenName: event.currentTarget.value })} autocomplete="off" />
            </Field>
            <Field id={`${prefix}-token-value`} label="Token secret" hint={editing?.hasToken ? "Leave blank to keep the stored secret" : undefined}>
              <input
                id={`${prefix}-token-value`}
                type="password"
                value={form.tokenValue}
                onInput={(event) => set({ tokenValue: event.currentTarget.value })}
                autocomplete="new-password"
              />
            </Field>
          </>
        ) : (
          <Field id={`${prefix}-password`} label="Password" hint={editing?.hasPassword ? "Leave blank to keep the stored password" : undefined}>
            <input
              id={`${prefix}-password`}
              type="password"
              value={form.password}
              onInput={(event) => set({ password: event.currentTarget.value })}
              autocomplete="new-password"
            />
          </Field>
        )}
        <Field id={`${prefix}-fingerprint`} label="Certificate fingerprint (SHA-256)" hint="Pins a self-signed certificate; optional">
          <input id={`${prefix}-fingerprint`} value={form.fingerprint} onInput={(event) => set({ fingerprint: event.currentTarget.value })} />
        </Field>
      </div>
      <label class="checkbox">
        <input type="checkbox" checked={form.verifySSL} onChange={(event) => set({ verifySSL: event.currentTarget.checked })} />
        Verify the TLS certificate
      </label>
      <label class="checkbox">
        <input type="checkbox" checked={form.enabled} onChange={(event) => set({ enabled: event.currentTarget.checked })} />
        Enabled (poll this node)
      </label>
      {problems.length ? (
        <ul class="field-errors" role="alert">
          {problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      ) : null}
      {report ? <TestResult report={report} /> : null}
      <ErrorBox error={action.error} />
      <div class="form-actions">
        <button type="button" class="button" onClick={test} disabled={action.busy}>
          Test connection
        </button>
        <button type="submit" class="button primary" disabled={action.busy}>
          {editing ? "Save changes" : "Add node"}
        </button>
        <button type="button" class="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

interface SetupScriptResponse {
  script?: string;
  instructions?: string;
  expiresAt?: number;
  tokenName?: string;
}

function SetupScript() {
  const [type, setType] = useState<"pve" | "pbs">("pve");
  const [host, setHost] = useState("");
  const [backupAccess, setBackupAccess] = useState(false);
  const [result, setResult] = useState<SetupScriptResponse | null>(null);
  const action = useAction();
  const generate = () =>
    action.run(async () => {
      setResult(null);
      if (!/^https?:\/\//i.test(host.trim())) throw new Error("Host must be a URL such as https://192.168.1.10:8006.");
      const body: Record<string, unknown> = { type, host: host.trim() };
      if (type === "pve") body.backupAccess = backupAccess;
      const response = await api.post<SetupScriptResponse | string>("/api/setup-script", body);
      setResult(typeof response === "string" ? { script: response } : response);
    });
  return (
    <Section title="Setup script">
      <p class="muted">
        Generates a script to run on the Proxmox host as root: it creates a monitoring user and API token with read-only permissions and
        registers the node with this Pulse.
      </p>
      <div class="inline-form">
        <Field id="setup-type" label="Type">
          <select id="setup-type" value={type} onChange={(event) => setType(event.currentTarget.value as "pve" | "pbs")}>
            <option value="pve">Proxmox VE</option>
            <option value="pbs">Proxmox Backup Server</option>
          </select>
        </Field>
        <Field id="setup-host" label="Host URL">
          <input id="setup-host" type="url" value={host} placeholder="https://192.168.1.10:8006" onInput={(event) => setHost(event.currentTarget.value)} />
        </Field>
        {type === "pve" ? (
          <label class="checkbox">
            <input type="checkbox" checked={backupAccess} onChange={(event) => setBackupAccess(event.currentTarget.checked)} />
            Also allow reading backup contents
          </label>
        ) : null}
        <button type="button" class="button" onClick={generate} disabled={action.busy}>
          Generate
        </button>
      </div>
      <ErrorBox error={action.error} />
      {result?.instructions ? <p data-testid="setup-instructions">{result.instructions}</p> : null}
      {result?.expiresAt ? <p class="muted small">The one-time setup code expires {formatTime(result.expiresAt)}.</p> : null}
      {result?.script ? (
        <div class="code-block">
          <div class="code-header">
            <span>Script</span>
            <CopyButton text={result.script} label="Copy script" />
          </div>
          <pre class="scroll-y">
            <code data-testid="setup-script">{result.script}</code>
          </pre>
        </div>
      ) : null}
    </Section>
  );
}

export function NodesSettings() {
  const nodes = useAsync((signal) => api.get<ConfiguredNode[]>("/api/config/nodes", signal), []);
  const [editing, setEditing] = useState<ConfiguredNode | "new" | null>(null);
  const action = useAction();
  const state = useStore(stateStore);
  const now = nowSeconds();
  const remove = (node: ConfiguredNode) =>
    action.run(async () => {
      if (!window.confirm(`Remove ${node.name}? Pulse stops polling it; its history stays until retention removes it.`)) return;
      await api.delete(`/api/config/nodes/${encodeURIComponent(node.id)}`);
      nodes.reload();
      return `Removed ${node.name}.`;
    });
  const done = () => {
    setEditing(null);
    nodes.reload();
  };
  return (
    <>
      <Section
        title="Nodes"
        actions={
          <button type="button" class="button primary" onClick={() => setEditing("new")} disabled={editing !== null}>
            Add node
          </button>
        }
      >
        <ErrorBox error={nodes.error} onRetry={nodes.reload} />
        <ErrorBox error={action.error} />
        {action.message ? <Notice kind="success">{action.message}</Notice> : null}
        {editing === "new" ? <NodeForm editing={null} onDone={done} /> : null}
        {nodes.data && nodes.data.length === 0 ? <p class="muted">No nodes configured yet.</p> : null}
        {nodes.data?.length ? (
          <div class="table-wrap">
            <table class="table" aria-label="Configured nodes">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col">Host</th>
                  <th scope="col">Authentication</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {nodes.data.map((node) => {
                  const live = liveStatus(node, state.connectionHealth[node.id]);
                  return (
                  <tr key={node.id} data-node-id={node.id}>
                    <td>{node.name}</td>
                    <td>{node.type.toUpperCase()}</td>
                    <td class="small">{node.host}</td>
                    <td class="small">{authText(node)}</td>
                    <td>
                      <StatusDot status={live.status} />
                      {live.message ? <div class="muted small">{live.message}</div> : null}
                      {live.lastSuccess ? <div class="muted small">last poll {formatAge(live.lastSuccess, now)}</div> : null}
                    </td>
                    <td class="actions">
                      <button type="button" class="button small" onClick={() => setEditing(node)} disabled={editing !== null}>
                        Edit
                      </button>
                      <button type="button" class="button small danger" onClick={() => remove(node)} disabled={action.busy}>
                        Delete
                      </button>
                    </td>
                  </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
        {editing && editing !== "new" ? <NodeForm editing={editing} onDone={done} /> : null}
      </Section>
      <SetupScript />
    </>
  );
}
