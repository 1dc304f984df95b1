// A small observable store; components read it through `useStore`.

import { useEffect, useState } from "preact/hooks";
import { emptyState, type PulseState } from "./types";

export class Store<T> {
  private listeners = new Set<(value: T) => void>();

  constructor(private value: T) {}

  get(): T {
    return this.value;
  }

  set(value: T): void {
    this.value = value;
    for (const listener of this.listeners) listener(value);
  }

  update(patch: Partial<T>): void {
    this.set({ ...this.value, ...patch });
  }

  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function useStore<T>(store: Store<T>): T {
  const [value, setValue] = useState(store.get());
  useEffect(() => {
    setValue(store.get());
    return store.subscribe(setValue);
  }, [store]);
  return value;
}

export type ConnectionStatus = "connecting" | "connected" | "disconnected";

export interface Connection {
  status: ConnectionStatus;
  /** Epoch milliseconds of the next reconnect attempt while disconnected. */
  retryAt: number | null;
  attempts: number;
  lastMessage: number | null;
}

export interface Auth {
  checked: boolean;
  /** The server has a password set. */
  configured: boolean;
  /** A request came back 401: the login screen is shown. */
  loginRequired: boolean;
  user: string | null;
}

export const stateStore = new Store<PulseState>(emptyState());
export const connectionStore = new Store<Connection>({ status: "connecting", retryAt: null, attempts: 0, lastMessage: null });
export const authStore = new Store<Auth>({ checked: false, configured: false, loginRequired: false, user: null });
