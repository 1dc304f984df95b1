import { useState } from "preact/hooks";
import { rememberCsrfToken, request } from "../api";
import { ErrorBox, useAction } from "./ui";

interface LoginResponse {
  username?: string;
  csrfToken?: string;
}

export function Login({ onLoggedIn }: { onLoggedIn: (user: string | null) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();
  const submit = () =>
    action.run(async () => {
      if (!username || !password) throw new Error("Enter your username and password.");
      const result = await request<LoginResponse>("/api/login", { method: "POST", body: { username, password }, ignoreUnauthorized: true });
      rememberCsrfToken(result?.csrfToken);
      setPassword("");
      onLoggedIn(result?.username ?? username);
    });
  return (
    <main class="login-page">
      <form
        class="card login-card"
        aria-labelledby="login-title"
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <h1 id="login-title">
          <span class="logo" aria-hidden="true">
            ◉
          </span>{" "}
          Pulse
        </h1>
        <p class="muted">Sign in to see your Proxmox infrastructure.</p>
        <div class="field">
          <label for="login-username">Username</label>
          <input id="login-username" name="username" autocomplete="username" value={username} onInput={(event) => setUsername(event.currentTarget.value)} autofocus />
        </div>
        <div class="field">
          <label for="login-password">Password</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(event) => setPassword(event.currentTarget.value)}
          />
        </div>
        <ErrorBox error={action.error} />
        <button type="submit" class="button primary wide" disabled={action.busy}>
          {action.busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
