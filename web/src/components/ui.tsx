import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { errorDetail, errorMessage } from "../api";
import { formatBytes, formatPercent } from "../format";
import { tagColors } from "../tags";
import type { Usage } from "../types";

export function Unknown({ reason }: { reason?: string | null }) {
  return (
    <span class="unknown" title={reason ?? "The source did not report this value"}>
      unknown
      {reason ? <span class="sr-only"> ({reason})</span> : null}
    </span>
  );
}

/** A live metric of a guest that is not running: a dash, with the reason as its tooltip. */
export function Stopped() {
  return (
    <span class="muted not-running" title="guest is stopped">
      -<span class="sr-only"> (guest is stopped)</span>
    </span>
  );
}

function level(percent: number): string {
  if (percent >= 90) return "critical";
  if (percent >= 75) return "warning";
  return "ok";
}

/** A usage bar; an unknown figure is written as "unknown" with the reason as its tooltip. */
export function UsageBar({ usage, label, showBytes = true }: { usage: Usage | null; label: string; showBytes?: boolean }) {
  if (!usage || usage.usage === null) return <Unknown reason={usage?.unknownReason} />;
  const percent = Math.max(0, Math.min(100, usage.usage));
  const detail = showBytes && usage.total ? `${formatBytes(usage.used)} of ${formatBytes(usage.total)}` : "";
  return (
    <div class="bar" title={detail || undefined}>
      <div
        class={`bar-track level-${level(percent)}`}
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(percent)}
        aria-valuetext={`${formatPercent(percent)}${detail ? `, ${detail}` : ""}`}
      >
        <div class="bar-fill" style={{ width: `${percent}%` }} />
      </div>
      <span class="bar-text">{formatPercent(percent)}</span>
    </div>
  );
}

export function PercentBar({ percent, label, reason }: { percent: number | null; label: string; reason?: string | null }) {
  return (
    <UsageBar usage={{ total: null, used: null, free: null, usage: percent, unknownReason: reason ?? null }} label={label} showBytes={false} />
  );
}

export function Tag({ name }: { name: string }) {
  const colors = tagColors(name);
  return (
    <span class="tag" style={colors}>
      {name}
    </span>
  );
}

export function Tags({ tags }: { tags: string[] }) {
  if (!tags.length) return null;
  return (
    <span class="tags">
      {tags.map((tag) => (
        <Tag key={tag} name={tag} />
      ))}
    </span>
  );
}

export function StatusDot({ status, title }: { status: string; title?: string }) {
  // Whole words only: "inactive" and "disconnected" contain good words.
  let kind = "neutral";
  if (/^(running|online|ok|available|active|healthy|connected)$/i.test(status)) kind = "good";
  else if (/^(stopped|offline|error|failed|unavailable|inactive|disconnected)$/i.test(status)) kind = "bad";
  else if (/^(warning|stale)$/i.test(status)) kind = "warn";
  return (
    <span class={`status status-${kind}`} title={title}>
      <span class="dot" aria-hidden="true" />
      {status}
    </span>
  );
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const detail = errorDetail(error);
  return (
    <div class="error-box" role="alert" title={detail || undefined}>
      <span>
        <span class="error-message">{errorMessage(error)}</span>
        {detail ? <small class="error-detail muted">{detail}</small> : null}
      </span>
      {onRetry ? (
        <button type="button" class="button small" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

export function Notice({ kind = "info", children }: { kind?: "info" | "success" | "warning" | "error"; children: ComponentChildren }) {
  return (
    <div class={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

export function Section({ title, actions, children, id }: { title: string; actions?: ComponentChildren; children: ComponentChildren; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-heading`;
  return (
    <section class="card section" aria-labelledby={headingId}>
      <header class="section-header">
        <h2 id={headingId}>{title}</h2>
        {actions ? <div class="section-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

export interface AsyncState<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Run a request on mount (and when `deps` change), keeping the last data and error. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[] = []): AsyncState<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [counter, setCounter] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    load(controller.signal)
      .then((value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(null);
      })
      .catch((failure) => {
        if (controller.signal.aborted) return;
        setError(failure);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, counter]);
  const reload = useCallback(() => setCounter((value) => value + 1), []);
  return { data, error, loading, reload };
}

/** Track a button's request: busy while it runs, then the error or result message. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<string | void>) => {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const result = await action();
      if (result) setMessage(result);
      return true;
    } catch (failure) {
      setError(failure);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, message, run, setMessage, setError };
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied("Copied");
    } catch {
      // Clipboard access needs a secure context; fall back to selecting a hidden textarea.
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      setCopied(ok ? "Copied" : "Copy failed: select the text and copy it by hand");
    }
  };
  return (
    <span class="copy">
      <button type="button" class="button small" onClick={copy}>
        {label}
      </button>
      <span class="muted" role="status">
        {copied}
      </span>
    </span>
  );
}

/** A modal side panel: Escape and the close button dismiss it, and focus moves into it. */
/** Track the height of the sticky top bar, so an overlay can start below it and leave the navigation usable. */
function useTopbarHeight(): number {
  const [height, setHeight] = useState(0);
  useEffect(() => {
    const bar = document.querySelector<HTMLElement>(".topbar");
    if (!bar) return;
    const measure = () => setHeight(bar.getBoundingClientRect().bottom);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(bar);
    return () => observer.disconnect();
  }, []);
  return height;
}

export function Drawer({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const panel = useRef<HTMLDivElement>(null);
  const top = useTopbarHeight();
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    panel.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") onClose();
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      previous?.focus?.();
    };
  }, [onClose]);
  return (
    <div class="drawer-backdrop" style={{ top: `${top}px` }} onClick={(event) => event.target === event.currentTarget && onClose()}>
      {/* Not aria-modal: the navigation above stays usable while the panel is open. */}
      <div class="drawer" role="dialog" aria-labelledby="drawer-title" tabIndex={-1} ref={panel}>
        <header class="drawer-header">
          <h2 id="drawer-title">{title}</h2>
          <button type="button" class="button icon" onClick={onClose} aria-label="Close details">
            ✕
          </button>
        </header>
        <div class="drawer-body">{children}</div>
      </div>
    </div>
  );
}

export function Field({ label, children, hint, id }: { label: string; children: ComponentChildren; hint?: string; id: string }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {hint ? (
        <small class="muted" id={`${id}-hint`}>
          {hint}
        </small>
      ) : null}
    </div>
  );
}

export function Tabs({ tabs, current, onSelect, label }: { tabs: [string, string][]; current: string; onSelect: (id: string) => void; label: string }) {
  const onKeyDown = (event: KeyboardEvent) => {
    const index = tabs.findIndex(([id]) => id === current);
    let next = index;
    if (event.key === "ArrowRight") next = (index + 1) % tabs.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + tabs.length) % tabs.length;
    else return;
    event.preventDefault();
    onSelect(tabs[next][0]);
    requestAnimationFrame(() => document.getElementById(`tab-${tabs[next][0]}`)?.focus());
  };
  return (
    <div class="tabs" role="tablist" aria-label={label} onKeyDown={onKeyDown}>
      {tabs.map(([id, text]) => (
        <button
          type="button"
          role="tab"
          id={`tab-${id}`}
          key={id}
          aria-selected={id === current}
          tabIndex={id === current ? 0 : -1}
          class={id === current ? "tab active" : "tab"}
          onClick={() => onSelect(id)}
        >
          {text}
        </button>
      ))}
    </div>
  );
}
