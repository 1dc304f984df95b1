// Which node or guest the detail drawer shows.

import { Store } from "./store";

export type Selection = { kind: "guest" | "node"; id: string } | null;

export const selectionStore = new Store<Selection>(null);

export function openDetail(kind: "guest" | "node", id: string): void {
  selectionStore.set({ kind, id });
}

export function closeDetail(): void {
  selectionStore.set(null);
}
