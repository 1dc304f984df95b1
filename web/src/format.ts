// Display helpers. Units follow the API: bytes, bytes per second, seconds, epoch seconds.

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(bytes: number | null | undefined, digits = 1): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "unknown";
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const sign = bytes < 0 ? "-" : "";
  return `${sign}${unit === 0 ? value.toFixed(0) : value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined) return "unknown";
  return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * Rate for narrow table columns: at most three significant digits, so "506.8 KiB/s" becomes
 * "507 KiB/s" and "13.0 MiB/s" becomes "13 MiB/s". The drawer keeps the one-decimal `formatRate`.
 */
export function formatRateCompact(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond)) return "unknown";
  let value = Math.abs(bytesPerSecond);
  let unit = 0;
  // 999.5 would round to "1000", so it moves up a unit as well.
  while (value >= 999.5 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // From 9.95 on, one decimal would round to "10.0"; whole numbers keep it to three digits.
  const digits = unit === 0 || value >= 9.95 ? 0 : 1;
  const sign = bytesPerSecond < 0 ? "-" : "";
  return `${sign}${value.toFixed(digits)} ${BYTE_UNITS[unit]}/s`;
}

export function formatPercent(percent: number | null | undefined, digits = 0): string {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) return "unknown";
  return `${percent.toFixed(digits)}%`;
}

/** Duration in seconds as "3d 4h", "5h 2m", "42s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "unknown";
  const total = Math.max(0, Math.floor(seconds));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m`;
  return `${total}s`;
}

/** Age of an epoch-seconds timestamp relative to `now` (epoch seconds), as "5m ago". */
export function formatAge(epoch: number | null | undefined, now: number): string {
  if (epoch === null || epoch === undefined) return "never";
  const delta = now - epoch;
  if (delta < 0) return "just now";
  if (delta < 60) return "just now";
  return `${formatDuration(delta)} ago`;
}

export function formatTime(epoch: number | null | undefined): string {
  if (epoch === null || epoch === undefined) return "unknown";
  return new Date(epoch * 1000).toLocaleString();
}

export function nowSeconds(): number {
  return Date.now() / 1000;
}
