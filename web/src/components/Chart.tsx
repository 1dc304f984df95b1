import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { timeTickSpace, WIDEST_TIME_LABEL } from "../charts";
import { formatBytes, formatPercent } from "../format";

export interface ChartSeries {
  label: string;
  color: string;
}

export interface ChartProps {
  title: string;
  data: [number[], ...(number | null)[][]];
  series: ChartSeries[];
  unit: "percent" | "rate";
  height?: number;
  /** The time window in epoch seconds; the x axis spans it even where data starts later. */
  window?: [number, number];
}

/** Return the longest of an axis's tick labels, or "" when it has none. */
export function longestLabel(values: readonly (string | number | null)[] | null | undefined): string {
  let longest = "";
  for (const value of values ?? []) {
    const text = value === null ? "" : String(value);
    if (text.length > longest.length) longest = text;
  }
  return longest;
}

/** Return the width of `text` in CSS pixels in an axis's tick font. */
function measureAxisText(plot: uPlot, axisIndex: number, text: string): number {
  const axis = plot.axes[axisIndex];
  // uPlot 1.6 replaces the axis font at init with [CSS font scaled by devicePixelRatio, px size, CSS px size].
  const font = axis.font as unknown as [string, number] | string | undefined;
  plot.ctx.font = Array.isArray(font) ? font[0] : font ?? plot.ctx.font;
  return plot.ctx.measureText(text).width / (window.devicePixelRatio || 1);
}

/**
 * Size a y axis to its widest tick label, so labels such as "976.6 KiB/s" are not clipped at the
 * chart's left edge. uPlot calls this in every layout cycle. From the third cycle on the axis keeps
 * its size, so the layout cannot swing between two widths.
 */
function axisSize(plot: uPlot, values: string[] | null, axisIndex: number, cycle: number): number {
  const axis = plot.axes[axisIndex] as uPlot.Axis & { _size?: number };
  if (cycle > 1 && axis._size) return axis._size;
  const ticks = (axis.ticks as { size?: number } | undefined)?.size ?? 10;
  let size = ticks + (axis.gap ?? 5) + 4;
  const text = longestLabel(values);
  if (text) size += measureAxisText(plot, axisIndex, text);
  return Math.ceil(size);
}

/** Draw a uPlot line chart sized to its container, redrawn when the data changes. */
export function Chart({ title, data, series, unit, height = 160, window: span }: ChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const points = data[0].length;

  useEffect(() => {
    const element = container.current;
    if (!element || points === 0) return;
    // uPlot passes null for the legend when the cursor is off the chart or a point is missing.
    const format = (value: number | null) => {
      if (value === null || value === undefined) return "–";
      return unit === "percent" ? formatPercent(value, 1) : `${formatBytes(value)}/s`;
    };
    const options: uPlot.Options = {
      width: Math.max(240, element.clientWidth),
      height,
      series: [
        {},
        ...series.map((item) => ({
          label: item.label,
          stroke: item.color,
          width: 1.5,
          fill: `${item.color}22`,
          value: (_plot: uPlot, value: number | null) => format(value),
          spanGaps: false,
        })),
      ],
      axes: [
        {
          stroke: "currentColor",
          grid: { stroke: "rgba(128,128,128,0.2)" },
          space: (plot: uPlot) => timeTickSpace(measureAxisText(plot, 0, WIDEST_TIME_LABEL)),
        },
        {
          stroke: "currentColor",
          grid: { stroke: "rgba(128,128,128,0.2)" },
          size: axisSize,
          values: (_plot: uPlot, ticks: number[]) => ticks.map((tick) => format(tick)),
        },
      ],
      scales: {
        x: { time: true, ...(span ? { range: (): uPlot.Range.MinMax => [span[0], span[1]] } : {}) },
        ...(unit === "percent" ? { y: { range: [0, 100] as uPlot.Range.MinMax } } : {}),
      },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    const instance = new uPlot(options, data as uPlot.AlignedData, element);
    plot.current = instance;
    const observer = new ResizeObserver(() => {
      instance.setSize({ width: Math.max(240, element.clientWidth), height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      instance.destroy();
      plot.current = null;
    };
    // Rebuild when the series set changes; data updates go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [series.map((item) => item.label).join(","), unit, height, points === 0, span?.[0], span?.[1]]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {points === 0 ? (
        <p class="muted chart-empty">No data for this range yet.</p>
      ) : (
        <div class="chart-canvas" ref={container} role="img" aria-label={`${title} chart with ${points} points`} data-points={points} />
      )}
    </figure>
  );
}
