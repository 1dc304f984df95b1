import { useEffect, useState } from "preact/hooks";
import { api, errorMessage, request } from "./api";
import { DetailDrawer } from "./components/Detail";
import { Login } from "./components/Login";
import { ErrorBox } from "./components/ui";
import { connect, disconnect, loadState, reconnectNow } from "./live";
import { AlertsPage } from "./pages/Alerts";
import { BackupsPage } from "./pages/Backups";
import { Overview } from "./pages/Overview";
import { PBSPage } from "./pages/PBS";
import { SettingsPage } from "./pages/Settings";
import type { SecurityStatus } from "./pages/settings/Security";
import { StoragePage } from "./pages/Storage";
import { routeStore } from "./router";
import { authStore, connectionStore, stateStore, useStore } from "./store";
import { adoptServerTheme, effectiveTheme, setTheme, themeStore, type ThemeChoice } from "./theme";

const NAV: [string, string][] = [
  ["overview", "Overview"],
  ["storage", "Storage"],
  ["backups", "Backups"],
  ["pbs", "PBS"],
  ["alerts", "Alerts"],
  ["settings", "Settings"],
];

function ConnectionIndicator() {
  const connection = useStore(connectionStore);
  if (connection.status === "connected") {
    return (
      <span class="live-indicator" role="status" data-connection="connected">
        <span class="dot" aria-hidden="true" /> Live
      </span>
    );
  }
  if (connection.status === "connecting") {
    return (
      <span class="live-indicator connecting" role="status" data-connection="connecting">
        Connecting…
      </span>
    );
  }
  return (
    <span class="live-indicator offline" data-connection="disconnected">
      Disconnected
    </span>
  );
}

function DisconnectedBanner() {
  const connection = useStore(connectionStore);
  const [, tick] = useState(0);
  useEffect(() => {
    if (connection.status !== "disconnected") return;
    const timer = window.setInterval(() => tick((value) => value + 1), 1000);
    return () => window.clearInterval(timer);
  }, [connection.status]);
  if (connection.status !== "disconnected") return null;
  const seconds = connection.retryAt ? Math.max(0, Math.ceil((connection.retryAt - Date.now()) / 1000)) : 0;
  return (
    <div class="disconnected-banner" role="alert">
      <span>
        <strong>Disconnected</strong> from Pulse; the data shown may be out of date. Reconnecting in {seconds}s.
      </span>
      <button type="button" class="button small" onClick={reconnectNow}>
        Retry now
      </button>
    </div>
  );
}

function PasswordBanner() {
  const auth = useStore(authStore);
  const [dismissed, setDismissed] = useState(sessionStorage.getItem("pulse-banner-dismissed") === "1");
  if (!auth.checked || auth.configured || dismissed) return null;
  return (
    <div class="first-run-banner" role="region" aria-label="Security recommendation">
      <span>
        <strong>No password is set.</strong> Anyone who can reach this page sees your infrastructure and can change settings.{" "}
        <a href="#/settings/security">Set a password</a>.
      </span>
      <button
        type="button"
        class="button small"
        onClick={() => {
          sessionStorage.setItem("pulse-banner-dismissed", "1");
          setDismissed(true);
        }}
      >
        Dismiss
      </button>
    </div>
  );
}

function ThemeToggle() {
  const choice = useStore(themeStore);
  // Cycle system → the opposite of what the system shows → the other explicit theme → system.
  const cycle: Record<ThemeChoice, ThemeChoice> = {
    system: effectiveTheme() === "dark" ? "light" : "dark",
    dark: "light",
    light: "system",
  };
  const next = cycle[choice];
  return (
    <button type="button" class="button icon" onClick={() => setTheme(next)} aria-label={`Theme: ${choice}. Switch to ${next}.`} title={`Theme: ${choice}`}>
      {effectiveTheme(choice) === "dark" ? "☾" : "☀"}
    </button>
  );
}

function Page({ page }: { page: string }) {
  switch (page) {
    case "storage":
      return <StoragePage />;
    case "backups":
      return <BackupsPage />;
    case "pbs":
      return <PBSPage />;
    case "alerts":
      return <AlertsPage />;
    case "settings":
      return <SettingsPage />;
    default:
      return <Overview />;
  }
}

async function checkAuth(): Promise<void> {
  try {
    const status = await request<SecurityStatus>("/api/security/status", { ignoreUnauthorized: true });
    authStore.update({
      checked: true,
      configured: Boolean(status.hasPassword ?? status.authConfigured),
      loginRequired: Boolean(status.authConfigured && !status.authenticated),
      user: status.username ?? null,
    });
  } catch (error) {
    // An older server without the status route: let /api/state decide whether login is needed.
    console.warn(`Pulse: security status unavailable: ${errorMessage(error)}`);
    authStore.update({ checked: true, configured: true });
  }
}

export function App() {
  const auth = useStore(authStore);
  const route = useStore(routeStore);
  const state = useStore(stateStore);
  const [loadError, setLoadError] = useState<unknown>(null);

  const start = () => {
    setLoadError(null);
    loadState().catch((error) => {
      if ((error as { status?: number }).status !== 401) setLoadError(error);
    });
    connect();
    api
      .get<{ theme?: string }>("/api/config/system")
      .then((settings) => adoptServerTheme(settings?.theme))
      .catch(() => {
        // The theme then stays as this browser chose or the system prefers.
      });
  };

  useEffect(() => {
    checkAuth().then(() => {
      if (!authStore.get().loginRequired) start();
    });
  }, []);

  useEffect(() => {
    if (auth.loginRequired) disconnect();
  }, [auth.loginRequired]);

  useEffect(() => {
    document.title = route.page === "overview" ? "Pulse" : `${route.page.charAt(0).toUpperCase()}${route.page.slice(1)} · Pulse`;
  }, [route.page]);

  if (!auth.checked) {
    return (
      <p class="loading" role="status">
        Loading Pulse…
      </p>
    );
  }
  if (auth.loginRequired) {
    return (
      <Login
        onLoggedIn={(user) => {
          authStore.update({ loginRequired: false, configured: true, user });
          start();
        }}
      />
    );
  }

  const logout = async () => {
    try {
      await api.post("/api/logout");
    } finally {
      disconnect();
      authStore.update({ loginRequired: true, user: null });
    }
  };
  const openAlerts = state.activeAlerts.filter((alert) => !alert.acknowledged).length;

  return (
    <div class="app">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/overview">
          <span class="logo" aria-hidden="true">
            ◉
          </span>{" "}
          Pulse
        </a>
        <nav aria-label="Main" class="main-nav">
          {NAV.map(([id, label]) => (
            <a key={id} href={`#/${id}`} class={route.page === id ? "active" : ""} aria-current={route.page === id ? "page" : undefined}>
              {label}
              {id === "alerts" && openAlerts > 0 ? (
                <span class="count" aria-label={`${openAlerts} open alerts`}>
                  {openAlerts}
                </span>
              ) : null}
            </a>
          ))}
        </nav>
        <div class="topbar-actions">
          <ConnectionIndicator />
          <ThemeToggle />
          {auth.configured && auth.user ? (
            <button type="button" class="button small" onClick={logout}>
              Log out {auth.user}
            </button>
          ) : null}
        </div>
      </header>
      <DisconnectedBanner />
      <PasswordBanner />
      <main id="main" tabIndex={-1}>
        <ErrorBox error={loadError} onRetry={start} />
        <Page page={route.page} />
      </main>
      <DetailDrawer />
    </div>
  );
}
