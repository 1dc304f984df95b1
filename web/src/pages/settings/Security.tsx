import { useState } from "preact/hooks";
import { api } from "../../api";
import { CopyButton, ErrorBox, Field, Notice, Section, useAction, useAsync } from "../../components/ui";
import { formatTime } from "../../format";

export interface SecurityStatus {
  authConfigured?: boolean;
  hasPassword?: boolean;
  passwordSource?: string | null;
  hasApiToken?: boolean;
  proxyAuth?: boolean;
  authenticated?: boolean;
  username?: string | null;
  showPasswordBanner?: boolean;
  minPasswordLength?: number;
  sessionHours?: number;
}

interface TokenInfo {
  id?: string;
  name?: string;
  hasToken?: boolean;
  token?: string;
  value?: string;
  hint?: string;
  prefix?: string;
  created?: number;
  lastUsed?: number | null;
  scopes?: string[];
  source?: string;
}

interface AuditEvent {
  time?: number;
  timestamp?: number;
  action?: string;
  event?: string;
  actor?: string | null;
  client?: string | null;
  [key: string]: unknown;
}

function PasswordChange({ status, onChanged }: { status: SecurityStatus; onChanged: () => void }) {
  const [current, setCurrent] = useState("");
  const [username, setUsername] = useState(status.username ?? "");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const action = useAction();
  const minimum = status.minPasswordLength ?? 12;
  const submit = () =>
    action.run(async () => {
      if (next.length < minimum) throw new Error(`The new password needs at least ${minimum} characters.`);
      if (next !== confirm) throw new Error("The new password and its confirmation differ.");
      const body: Record<string, string> = { newPassword: next };
      if (status.hasPassword) body.currentPassword = current;
      if (username.trim()) body.username = username.trim();
      await api.post("/api/security/change-password", body);
      setCurrent("");
      setNext("");
      setConfirm("");
      onChanged();
      return status.hasPassword ? "Password changed. Other sessions were signed out." : "Password set. Log in with it from now on.";
    });
  return (
    <Section title={status.hasPassword ? "Change password" : "Set a password"}>
      {status.passwordSource === "env" ? (
        <Notice kind="warning">The password comes from PULSE_AUTH_PASS; a password set here replaces it until that variable changes.</Notice>
      ) : null}
      <form
        class="form"
        aria-label="Password"
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <div class="form-grid">
          {status.hasPassword ? (
            <Field id="current-password" label="Current password">
              <input id="current-password" type="password" autocomplete="current-password" value={current} onInput={(event) => setCurrent(event.currentTarget.value)} />
            </Field>
          ) : null}
          <Field id="account-username" label="Username">
            <input id="account-username" autocomplete="username" value={username} onInput={(event) => setUsername(event.currentTarget.value)} />
          </Field>
          <Field id="new-password" label="New password" hint={`At least ${minimum} characters`}>
            <input id="new-password" type="password" autocomplete="new-password" value={next} onInput={(event) => setNext(event.currentTarget.value)} />
          </Field>
          <Field id="confirm-password" label="Confirm new password">
            <input id="confirm-password" type="password" autocomplete="new-password" value={confirm} onInput={(event) => setConfirm(event.currentTarget.value)} />
          </Field>
        </div>
        <ErrorBox error={action.error} />
        {action.message ? <Notice kind="success">{action.message}</Notice> : null}
        <div class="form-actions">
          <button type="submit" class="button primary" disabled={action.busy}>
            {status.hasPassword ? "Change password" : "Set password"}
          </button>
        </div>
      </form>
    </Section>
  );
}

// The scopes the server accepts for a named token, from least to most access.
const TOKEN_SCOPES: [string, string][] = [
  ["monitoring:read", "Read-only (monitoring:read)"],
  ["settings:write", "Read and change settings (settings:write)"],
  ["*", "Full access, including tokens and password (*)"],
];

// Shown before the first token: any token turns sign-in on, and without a password only a * token can set one.
const FIRST_TOKEN_WARNING =
  "No password is set. A token turns sign-in on, so after this the web UI asks for a password. " +
  "Copy the token, then set a password with it (POST /api/security/change-password with the X-API-Token header), " +
  "or cancel and set a password above first. Continue?";
// Shown instead of reloading the token lists, because the reload would need sign-in and hide the new token.
const FIRST_TOKEN_CREATED =
  "Token created and sign-in is on. Copy the token now and set a password with it before you leave or reload this page.";

function ApiTokens({ status }: { status: SecurityStatus }) {
  // The server's rule: without a password or proxy sign-in, only a * token can set a password later.
  const needsAdminToken = !status.hasPassword && !status.proxyAuth;
  const firstCredential = !status.authConfigured;
  const primary = useAsync((signal) => api.get<TokenInfo>("/api/system/api-token", signal), []);
  const named = useAsync((signal) => api.get<{ tokens: TokenInfo[] }>("/api/security/tokens", signal), []);
  const [revealed, setRevealed] = useState<string | null>(null);
  const [newName, setNewName] = useState("");
  const [newScope, setNewScope] = useState(TOKEN_SCOPES[0][0]);
  const action = useAction();
  const secretOf = (token: TokenInfo) => token.token ?? token.value ?? null;
  const reveal = () =>
    action.run(async () => {
      const token = await api.get<TokenInfo>("/api/system/api-token?reveal=true");
      setRevealed(secretOf(token));
    });
  const generate = () =>
    action.run(async () => {
      if (primary.data?.hasToken && !window.confirm("Generate a new API token? Scripts using the current one stop working.")) return;
      const locksPage = firstCredential && needsAdminToken;
      if (locksPage && !window.confirm(FIRST_TOKEN_WARNING)) return;
      const token = await api.post<TokenInfo>("/api/system/api-token/generate");
      setRevealed(secretOf(token));
      if (locksPage) return FIRST_TOKEN_CREATED;
      primary.reload();
      named.reload();
      return "New token generated. Copy it now.";
    });
  const removePrimary = () =>
    action.run(async () => {
      if (!window.confirm("Delete the API token? Scripts using it stop working.")) return;
      await api.delete("/api/system/api-token/delete");
      setRevealed(null);
      primary.reload();
      named.reload();
      return "API token deleted.";
    });
  const create = () =>
    action.run(async () => {
      if (!newName.trim()) throw new Error("Give the token a name, e.g. home-assistant.");
      // The server rejects a narrower scope without a password, and its error message names the fix.
      const locksPage = firstCredential && needsAdminToken && newScope === "*";
      if (locksPage && !window.confirm(FIRST_TOKEN_WARNING)) return;
      const token = await api.post<TokenInfo>("/api/security/tokens", { name: newName.trim(), scopes: [newScope] });
      setRevealed(secretOf(token));
      setNewName("");
      if (locksPage) return FIRST_TOKEN_CREATED;
      named.reload();
      return `Token ${token.name ?? newName} created. Copy it now: it is shown only on request.`;
    });
  const removeNamed = (token: TokenInfo) =>
    action.run(async () => {
      if (!token.id || !window.confirm(`Delete the token ${token.name}?`)) return;
      await api.delete(`/api/security/tokens/${encodeURIComponent(token.id)}`);
      named.reload();
      primary.reload();
      return `Deleted ${token.name}.`;
    });
  return (
    <Section title="API tokens">
      <ErrorBox error={primary.error} onRetry={primary.reload} />
      {primary.data ? (
        <p>
          {primary.data.hasToken ? `An API token is configured${primary.data.source ? ` (from ${primary.data.source})` : ""}.` : "No API token is configured."}
        </p>
      ) : null}
      <div class="form-actions">
        {primary.data?.hasToken ? (
          <button type="button" class="button" onClick={reveal} disabled={action.busy}>
            Reveal
          </button>
        ) : null}
        <button type="button" class="button" onClick={generate} disabled={action.busy}>
          {primary.data?.hasToken ? "Regenerate" : "Generate"}
        </button>
        {primary.data?.hasToken ? (
          <button type="button" class="button danger" onClick={removePrimary} disabled={action.busy}>
            Delete
          </button>
        ) : null}
      </div>
      {revealed ? (
        <div class="code-block">
          <div class="code-header">
            <span>Token (send as X-API-Token)</span>
            <CopyButton text={revealed} />
          </div>
          <pre>
            <code data-testid="revealed-token">{revealed}</code>
          </pre>
        </div>
      ) : null}
      <h3>Named tokens</h3>
      <ErrorBox error={named.error} onRetry={named.reload} />
      {named.data?.tokens?.length ? (
        <div class="table-wrap">
          <table class="table compact">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {named.data.tokens.map((token) => (
                <tr key={token.id ?? token.name}>
                  <td>{token.name}</td>
                  <td class="mono small">{token.hint ?? token.prefix ?? "hidden"}</td>
                  <td class="mono small">{token.scopes?.join(", ") ?? "-"}</td>
                  <td>{formatTime(token.created)}</td>
                  <td>{token.lastUsed ? formatTime(token.lastUsed) : "never"}</td>
                  <td>
                    <button type="button" class="button small danger" onClick={() => removeNamed(token)} disabled={action.busy}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : named.data ? (
        <p class="muted">No named tokens.</p>
      ) : null}
      {needsAdminToken ? (
        <Notice kind="warning">
          No password is set. Until you set one above, only a token with full access (*) can be created, because any token turns
          sign-in on and a narrower token cannot set a password.
        </Notice>
      ) : null}
      <div class="inline-form">
        <Field id="token-name" label="New token name">
          <input id="token-name" value={newName} onInput={(event) => setNewName(event.currentTarget.value)} />
        </Field>
        <Field id="token-scope" label="Scope">
          <select id="token-scope" value={newScope} onChange={(event) => setNewScope(event.currentTarget.value)}>
            {TOKEN_SCOPES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </Field>
        <button type="button" class="button" onClick={create} disabled={action.busy}>
          Create token
        </button>
      </div>
      <ErrorBox error={action.error} />
      {action.message ? <Notice kind="success">{action.message}</Notice> : null}
    </Section>
  );
}

function AuditLog() {
  const log = useAsync((signal) => api.get<{ events: AuditEvent[] }>("/api/security/audit?limit=200", signal), []);
  const events = log.data?.events ?? [];
  return (
    <Section
      title="Audit log"
      actions={
        <button type="button" class="button" onClick={log.reload}>
          Refresh
        </button>
      }
    >
      <ErrorBox error={log.error} onRetry={log.reload} />
      {log.data && events.length === 0 ? <p class="muted">No events recorded.</p> : null}
      {events.length ? (
        <div class="table-wrap scroll-y">
          <table class="table compact">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Actor</th>
                <th scope="col">Client</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event, index) => {
                const { time, timestamp, ts, action, event: name, actor, client, ...rest } = event as AuditEvent & { ts?: number };
                return (
                  <tr key={index}>
                    <td>{formatTime(time ?? timestamp ?? ts ?? null)}</td>
                    <td>{action ?? name ?? "-"}</td>
                    <td>{actor ?? "-"}</td>
                    <td>{client ?? "-"}</td>
                    <td class="small mono break">{Object.keys(rest).length ? JSON.stringify(rest) : ""}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </Section>
  );
}

export function SecuritySettings() {
  const status = useAsync((signal) => api.get<SecurityStatus>("/api/security/status", signal), []);
  return (
    <>
      <ErrorBox error={status.error} onRetry={status.reload} />
      {status.data ? (
        <Section title="Status">
          <ul class="plain-list">
            <li>Password login: {status.data.hasPassword ? `on${status.data.passwordSource ? ` (set by ${status.data.passwordSource})` : ""}` : "off"}</li>
            <li>API token: {status.data.hasApiToken ? "configured" : "none"}</li>
            <li>Signed in as: {status.data.username ?? (status.data.authenticated ? "API token" : "not signed in")}</li>
            {status.data.sessionHours ? <li>Sessions last {status.data.sessionHours} hours</li> : null}
          </ul>
        </Section>
      ) : null}
      {status.data ? <PasswordChange status={status.data} onChanged={status.reload} /> : null}
      {status.data ? <ApiTokens status={status.data} /> : null}
      <AuditLog />
    </>
  );
}
