// Hash routes (#/overview, #/settings/nodes), so the page works behind any static fallback.

import { Store } from "./store";

export interface Route {
  page: string;
  sub: string | null;
  params: URLSearchParams;
}

export const PAGES = ["overview", "storage", "backups", "pbs", "alerts", "settings"] as const;

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, "");
  const [path, query = ""] = text.split("?");
  const [page, sub] = path.split("/");
  return {
    page: (PAGES as readonly string[]).includes(page) ? page : "overview",
    sub: sub || null,
    params: new URLSearchParams(query),
  };
}

export const routeStore = new Store<Route>(parseHash(location.hash));

window.addEventListener("hashchange", () => routeStore.set(parseHash(location.hash)));

export function navigate(path: string): void {
  location.hash = `#/${path}`;
}
