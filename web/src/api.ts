// HTTP client for the Pulse REST API: JSON in and out, the CSRF header on every state-changing
// request, and errors that say which request failed and why.

import { authStore } from "./store";

export class ApiError extends Error {
  /**
   * @param message what the user reads: the server's own message where it sent one
   * @param detail the request and status for debugging, e.g. "POST /api/login failed (401)"
   */
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown = null,
    readonly detail: string = "",
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
let csrfFallback: string | null = null;

export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** The CSRF token: the pulse_csrf cookie, or the token a login response carried. */
export function csrfToken(): string | null {
  return readCookie("pulse_csrf") ?? csrfFallback;
}

export function rememberCsrfToken(token: string | null | undefined): void {
  if (token) csrfFallback = token;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Do not switch to the login screen on 401 (the login request itself). */
  ignoreUnauthorized?: boolean;
  signal?: AbortSignal;
}

function describe(method: string, path: string): string {
  return `${method} ${path}`;
}

export async function request<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = (options.method ?? "GET").toUpperCase();
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    if (options.body instanceof FormData || typeof options.body === "string") {
      body = options.body;
    } else {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
  }
  if (!SAFE_METHODS.has(method)) {
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
  }

  let response: Response;
  try {
    response = await fetch(path, { method, headers, body, credentials: "same-origin", signal: options.signal });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(
      `Could not reach Pulse: ${String(error)}. Check that the daemon is running.`,
      0,
      null,
      `${describe(method, path)} failed (no response)`,
    );
  }
  rememberCsrfToken(response.headers.get("X-CSRF-Token"));

  const text = await response.text();
  let payload: unknown = null;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = text;
    }
  }
  if (response.ok) return payload as T;

  if (response.status === 401 && !options.ignoreUnauthorized) {
    authStore.update({ loginRequired: true });
  }
  throw responseError(method, path, response.status, response.statusText, payload);
}

/**
 * Build the error for a failed response. The message is the server's own text, so an error box
 * reads "invalid username or password"; the request and status go into `detail`.
 */
export function responseError(method: string, path: string, status: number, statusText: string, payload: unknown): ApiError {
  const serverMessage =
    payload && typeof payload === "object" && "error" in payload
      ? String((payload as { error: unknown }).error)
      : typeof payload === "string" && payload.length < 300
        ? payload
        : statusText;
  const detail = `${describe(method, path)} failed (${status})`;
  // A route that does not exist yet gets the framework's generic 404 text; a missing item gets its own message.
  if (status === 404 && (!serverMessage || /requested URL was not found|^not found$/i.test(serverMessage))) {
    return new ApiError(`This Pulse server does not offer ${describe(method, path)} (404).`, 404, payload, detail);
  }
  if (status === 405) {
    return new ApiError(`This Pulse server does not support ${describe(method, path)} (405).`, 405, payload, detail);
  }
  const message = serverMessage.trim() || `The request failed with HTTP status ${status}.`;
  return new ApiError(message, status, payload, detail);
}

export const api = {
  get: <T = unknown>(path: string, signal?: AbortSignal) => request<T>(path, { signal }),
  post: <T = unknown>(path: string, body?: unknown) => request<T>(path, { method: "POST", body: body ?? {} }),
  put: <T = unknown>(path: string, body?: unknown) => request<T>(path, { method: "PUT", body: body ?? {} }),
  delete: <T = unknown>(path: string) => request<T>(path, { method: "DELETE" }),
};

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Return the request and status behind an API error for a tooltip, or "" for other errors. */
export function errorDetail(error: unknown): string {
  return error instanceof ApiError ? error.detail : "";
}
