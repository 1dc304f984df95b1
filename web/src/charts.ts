// Time series from /api/charts, turned into uPlot's column arrays.

import { api } from "./api";

export const RANGES = ["1h", "24h", "7d", "30d"] as const;
export type Range = (typeof RANGES)[number];

export const RANGE_SECONDS: Record<Range, number> = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };

/** Return the window a range covers, ending now, in epoch seconds. */
export function rangeWindow(range: Range, now = Date.now() / 1000): [number, number] {
  return [now - RANGE_SECONDS[range], now];
}

export interface Point {
  timestamp: number;
  value: number | null;
}

/** Metric name to [times in epoch seconds, values]. */
export type SeriesSet = Record<string, [number[], (number | null)[]]>;

type ResourceSeries = Record<string, Record<string, Point[]>>;

/** /api/charts fills guests and nodes; /api/storage-charts fills storage and datastores. */
export interface ChartsResponse {
  guests?: ResourceSeries;
  nodes?: ResourceSeries;
  storage?: ResourceSeries;
  datastores?: ResourceSeries;
  [key: string]: unknown;
}

/** Timestamps may come in seconds or milliseconds; anything past year 5138 in seconds is milliseconds. */
export function toSeconds(timestamp: number): number {
  return timestamp > 1e11 ? timestamp / 1000 : timestamp;
}

export function toSeries(metrics: Record<string, Point[]> | undefined): SeriesSet {
  const result: SeriesSet = {};
  if (!metrics) return result;
  for (const [metric, points] of Object.entries(metrics)) {
    if (!Array.isArray(points)) continue;
    const sorted = points
      .filter((point) => point && typeof point.timestamp === "number")
      .map((point) => [toSeconds(point.timestamp), point.value] as const)
      .sort((a, b) => a[0] - b[0]);
    result[metric] = [sorted.map((pair) => pair[0]), sorted.map((pair) => (pair[1] === null ? null : Number(pair[1])))];
  }
  return result;
}

/** Pick one resource's series out of a charts response. */
export function seriesFor(response: ChartsResponse, resourceId: string): SeriesSet {
  const metrics =
    response.guests?.[resourceId] ??
    response.nodes?.[resourceId] ??
    response.storage?.[resourceId] ??
    response.datastores?.[resourceId];
  return toSeries(metrics);
}

export async function fetchSeries(range: Range, resourceId: string, signal?: AbortSignal): Promise<SeriesSet> {
  const params = new URLSearchParams({ range, ids: resourceId, points: "120" });
  const response = await api.get<ChartsResponse>(`/api/charts?${params}`, signal);
  return seriesFor(response ?? {}, resourceId);
}

export async function fetchStorageSeries(range: Range, resourceId: string, signal?: AbortSignal): Promise<SeriesSet> {
  const params = new URLSearchParams({ range, ids: resourceId, points: "120" });
  const response = await api.get<ChartsResponse>(`/api/storage-charts?${params}`, signal);
  return seriesFor(response ?? {}, resourceId);
}

/**
 * Merge several metrics into uPlot's aligned columns: one shared time axis, and null where a
 * metric has no point at that time.
 */
export function align(series: SeriesSet, metrics: string[]): [number[], ...(number | null)[][]] {
  const times = new Set<number>();
  for (const metric of metrics) for (const time of series[metric]?.[0] ?? []) times.add(time);
  const axis = [...times].sort((a, b) => a - b);
  const index = new Map(axis.map((time, position) => [time, position]));
  const columns = metrics.map((metric) => {
    const column: (number | null)[] = new Array(axis.length).fill(null);
    const [metricTimes, values] = series[metric] ?? [[], []];
    metricTimes.forEach((time, position) => {
      column[index.get(time)!] = values[position];
    });
    return column;
  });
  return [axis, ...columns];
}

// The widest first-line tick label of uPlot 1.6's default time formats: "{h}:{mm}{aa}" with a
// two-digit hour. Hour and day steps use shorter labels ("12pm", "12/31").
export const WIDEST_TIME_LABEL = "12:59pm";
const TIME_LABEL_GAP = 16;

/**
 * Return the minimum distance between x ticks in CSS pixels: the widest time label plus a gap.
 * uPlot's default of 50 pixels is narrower than "12:45am", so such labels ran together.
 */
export function timeTickSpace(labelWidth: number, gap = TIME_LABEL_GAP): number {
  return Math.max(50, Math.ceil(labelWidth + gap));
}
