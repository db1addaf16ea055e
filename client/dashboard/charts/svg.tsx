/**
 * Two tiny SVG charts over time: stacked bars and points joined by a line. Plain SVG rather
 * than a charting library: two chart kinds need ~120 lines, add nothing to the bundle, and
 * every mark is a DOM element with a <title>, so tests can read the values they show.
 */
import type { ReactNode } from 'react';

/** Chart geometry, shared by both kinds. */
const W = 560;
const H = 170;
const PAD = { left: 44, right: 10, top: 10, bottom: 24 };
const innerW = W - PAD.left - PAD.right;
const innerH = H - PAD.top - PAD.bottom;

/** A "nice" upper bound for the y axis (1, 2, 5 × 10^n). */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value) ?? 10 * power;
}

const hhmmss = (ms: number) => new Date(ms).toLocaleTimeString([], { hour12: false });

/** Axes, grid and tick labels for the time range [from, to] and y range [0, yMax]. */
function Frame(props: { from: number; to: number; yMax: number; yUnit: string; children: ReactNode; label: string; testId: string }) {
  const { from, to, yMax } = props;
  const yTicks = [0, yMax / 2, yMax];
  const xTicks = [from, (from + to) / 2, to];
  return (
    <svg viewBox={`0 0 ${W} ${H}`} className="chart" role="img" aria-label={props.label} data-testid={props.testId}>
      {yTicks.map((v) => {
        const y = PAD.top + innerH - (v / yMax) * innerH;
        return (
          <g key={v}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} className="grid" />
            <text x={PAD.left - 6} y={y + 4} textAnchor="end" className="tick">
              {Number(v.toPrecision(3))}
              {props.yUnit}
            </text>
          </g>
        );
      })}
      {xTicks.map((t, i) => (
        <text key={i} x={PAD.left + ((t - from) / Math.max(1, to - from)) * innerW} y={H - 6} textAnchor={(['start', 'middle', 'end'] as const)[i]} className="tick">
          {hhmmss(t)}
        </text>
      ))}
      {props.children}
    </svg>
  );
}

/** One stacked bar: a bucket start and a count per class. */
export interface Bucket {
  start: number;
  counts: Record<string, number>;
}

/** Stacked bars, one per bucket of `bucketMs`; classes stack in `order` (CSS `seg-{class}`). */
export function StackedBars(props: { buckets: Bucket[]; bucketMs: number; order: string[]; label: string; testId: string }) {
  const { buckets, bucketMs } = props;
  const from = buckets[0]?.start ?? Date.now() - bucketMs;
  const to = (buckets.at(-1)?.start ?? from) + bucketMs;
  const totals = buckets.map((b) => Object.values(b.counts).reduce((s, n) => s + n, 0));
  const yMax = niceMax(Math.max(0, ...totals));
  const x = (t: number) => PAD.left + ((t - from) / Math.max(1, to - from)) * innerW;
  const barW = Math.max(2, (innerW / Math.max(1, buckets.length)) * 0.8);
  return (
    <Frame from={from} to={to} yMax={yMax} yUnit="" label={props.label} testId={props.testId}>
      {buckets.map((b, i) => {
        let y = PAD.top + innerH;
        return (
          <g key={b.start} className="bar-group" data-total={totals[i]}>
            <title>{`${hhmmss(b.start)}: ${totals[i]} events (${props.order.map((c) => `${b.counts[c] ?? 0} ${c}`).join(', ')})`}</title>
            {props.order.map((c) => {
              const h = ((b.counts[c] ?? 0) / yMax) * innerH;
              y -= h;
              return h > 0 ? <rect key={c} x={x(b.start) + 1} y={y} width={barW} height={h} className={`seg seg-${c}`} /> : null;
            })}
          </g>
        );
      })}
    </Frame>
  );
}

/** One point of a line chart. */
export interface Point {
  t: number;
  v: number;
  /** CSS class suffix (`pt-{kind}`). */
  kind: string;
  title: string;
}

/** Points over time joined by a line, y from 0. */
export function PointLine(props: { points: Point[]; from: number; to: number; yUnit: string; label: string; testId: string }) {
  const { points, from, to } = props;
  const yMax = niceMax(Math.max(0, ...points.map((p) => p.v)));
  const x = (t: number) => PAD.left + ((t - from) / Math.max(1, to - from)) * innerW;
  const y = (v: number) => PAD.top + innerH - (v / yMax) * innerH;
  const sorted = [...points].sort((a, b) => a.t - b.t);
  return (
    <Frame from={from} to={to} yMax={yMax} yUnit={props.yUnit} label={props.label} testId={props.testId}>
      <polyline className="line" points={sorted.map((p) => `${x(p.t)},${y(p.v)}`).join(' ')} />
      {sorted.map((p, i) => (
        <circle key={i} cx={x(p.t)} cy={y(p.v)} r={3.2} className={`pt pt-${p.kind}`} data-value={p.v}>
          <title>{p.title}</title>
        </circle>
      ))}
    </Frame>
  );
}
