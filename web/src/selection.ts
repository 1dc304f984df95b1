// The node or guest the detail drawer shows. The hash URL is the source of truth (see detailRoute.ts),
// so this store follows the route and opening or closing a panel changes the address.

import { hashWithSelection, selectionFromParams, type Selection } from "./detailRoute";
import { parseHash, routeStore } from "./router";
import { Store } from "./store";

export type { Selection } from "./detailRoute";

export const selectionStore = new Store<Selection>(selectionFromParams(routeStore.get().params));

// The address openDetail pushed, so closing that same panel can step back instead of adding an entry.
let pushedHash: string | null = null;
// history.back() completes asynchronously. A panel opened before it lands would be closed by it, so an
// open requested meanwhile waits for the step back to finish.
let backPending = false;
let queuedOpen: { kind: "guest" | "node"; id: string } | null = null;

routeStore.subscribe((route) => {
  // Once the address moves on (back, a link, the nav), a later visit to the same address is not our entry.
  if (location.hash !== pushedHash) pushedHash = null;
  const next = selectionFromParams(route.params);
  const current = selectionStore.get();
  if (next?.kind !== current?.kind || next?.id !== current?.id) selectionStore.set(next);
});

export function openDetail(kind: "guest" | "node", id: string): void {
  if (backPending) {
    queuedOpen = { kind, id };
    return;
  }
  const hash = hashWithSelection(location.hash, { kind, id });
  if (hash === location.hash) return;
  // Opening over an open panel replaces it, so one back step still leaves the page.
  if (selectionStore.get() && pushedHash === location.hash) {
    history.replaceState(history.state, "", hash);
    routeStore.set(parseHash(hash));
  } else {
    location.hash = hash;
  }
  pushedHash = hash;
}

export function closeDetail(): void {
  if (!selectionStore.get()) return;
  if (pushedHash === location.hash) {
    pushedHash = null;
    backPending = true;
    selectionStore.set(null);
    window.addEventListener(
      "popstate",
      () => {
        // Let the router see the address it stepped back to before another panel opens.
        setTimeout(() => {
          backPending = false;
          const next = queuedOpen;
          queuedOpen = null;
          if (next) openDetail(next.kind, next.id);
        }, 0);
      },
      { once: true },
    );
    history.back();
    return;
  }
  // Opened from a link or a reload: there is no entry of ours to step back over.
  const hash = hashWithSelection(location.hash, null);
  history.replaceState(history.state, "", hash);
  routeStore.set(parseHash(hash));
}
