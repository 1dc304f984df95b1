// The live connection: the full state document over /ws, reconnecting with exponential backoff.

import { api, request } from "./api";
import { authStore, connectionStore, stateStore } from "./store";
import { normalizeState, type PulseState } from "./types";

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;

let socket: WebSocket | null = null;
let retryTimer: number | undefined;
let stopped = false;
let attempts = 0;

export const STATE_MARK = "pulse:state-received";

/** Accept both a bare state document and an envelope such as {type, data}. */
export function extractState(message: unknown): Partial<PulseState> | null {
  if (!message || typeof message !== "object") return null;
  const record = message as Record<string, unknown>;
  if (Array.isArray(record.nodes) || Array.isArray(record.vms)) return record as Partial<PulseState>;
  if (record.data && typeof record.data === "object") return extractState(record.data);
  if (record.state && typeof record.state === "object") return extractState(record.state);
  return null;
}

export function applyState(document: Partial<PulseState>): void {
  stateStore.set(normalizeState(document));
}

export async function loadState(): Promise<void> {
  const document = await api.get<PulseState>("/api/state");
  performance.mark(STATE_MARK);
  applyState(document);
}

const GZIP_KEY = "pulse-ws-gzip";

/** Whether gzip frames can be used here: the browser needs DecompressionStream. */
export const GZIP_SUPPORTED = typeof DecompressionStream !== "undefined";

/**
 * Whether this browser asks for gzip frames. Off by default: on a fast link inflating costs more time per
 * update than the smaller frame saves (see the Web UI section of BENCHMARKS.md), so it is for slow links.
 */
export function gzipEnabled(): boolean {
  return GZIP_SUPPORTED && localStorage.getItem(GZIP_KEY) === "1";
}

/** Store the choice and reconnect so the next socket uses it. */
export function setGzipEnabled(enabled: boolean): void {
  localStorage.setItem(GZIP_KEY, enabled ? "1" : "0");
  disconnect();
  connect();
}

function socketUrl(): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws${gzipEnabled() ? "?encoding=gzip" : ""}`;
}

async function messageText(data: unknown): Promise<string | null> {
  if (typeof data === "string") return data;
  if (data instanceof Blob) return new Response(data.stream().pipeThrough(new DecompressionStream("gzip"))).text();
  return null;
}

async function handleMessage(data: unknown): Promise<void> {
  // Marked on arrival, so the measured update time includes decompressing and parsing the document.
  performance.mark(STATE_MARK);
  let message: unknown;
  try {
    const text = await messageText(data);
    message = text === null ? null : JSON.parse(text);
  } catch (error) {
    performance.clearMarks(STATE_MARK);
    console.warn(`Pulse: ignored a WebSocket message that could not be read: ${String(error)}`);
    return;
  }
  const document = extractState(message);
  if (document) {
    applyState(document);
    connectionStore.update({ status: "connected", lastMessage: Date.now() });
  } else {
    performance.clearMarks(STATE_MARK);
  }
}

export function backoffDelay(attempt: number, random = Math.random): number {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempt - 1));
  // Up to 20% jitter so many browsers do not reconnect in step after a restart.
  return Math.round(base * (0.8 + 0.2 * random()));
}

function scheduleReconnect(): void {
  if (stopped) return;
  attempts += 1;
  const delay = backoffDelay(attempts);
  connectionStore.update({ status: "disconnected", retryAt: Date.now() + delay, attempts });
  window.clearTimeout(retryTimer);
  retryTimer = window.setTimeout(connect, delay);
}

export function connect(): void {
  stopped = false;
  window.clearTimeout(retryTimer);
  if (socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) return;
  connectionStore.update({ status: attempts === 0 ? "connecting" : connectionStore.get().status, retryAt: null });
  let current: WebSocket;
  try {
    current = new WebSocket(socketUrl());
  } catch {
    scheduleReconnect();
    return;
  }
  socket = current;
  current.onopen = () => {
    attempts = 0;
    connectionStore.update({ status: "connected", retryAt: null, attempts: 0 });
  };
  // Messages are handled one after another, so a slow decompression cannot let an older state win.
  let queue: Promise<void> = Promise.resolve();
  current.onmessage = (event) => {
    queue = queue.then(() => handleMessage(event.data));
  };
  current.onclose = () => {
    if (socket !== current) return;
    socket = null;
    // A closed or refused socket may mean the session ended; the login form then replaces the dashboard.
    checkSession();
    scheduleReconnect();
  };
  current.onerror = () => {
    // onclose follows and schedules the retry.
  };
}

/**
 * Ask the server whether the session ended. Browsers do not expose a refused handshake's HTTP status, so an
 * expired session would otherwise look like a server that is down.
 */
function checkSession(): void {
  request<{ authConfigured?: boolean; authenticated?: boolean }>("/api/security/status", { ignoreUnauthorized: true })
    .then((status) => {
      if (status?.authConfigured && !status.authenticated) authStore.update({ loginRequired: true });
    })
    .catch(() => {
      // The daemon is unreachable: the disconnected banner already shows that.
    });
}

export function reconnectNow(): void {
  attempts = Math.max(attempts, 1);
  window.clearTimeout(retryTimer);
  connect();
}

export function disconnect(): void {
  stopped = true;
  window.clearTimeout(retryTimer);
  if (socket) {
    const closing = socket;
    socket = null;
    closing.close();
  }
}
