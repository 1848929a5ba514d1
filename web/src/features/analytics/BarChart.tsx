// A hand-rolled stacked bar chart: data in, SVG out. No inline styles (the CSP forbids them):
// geometry goes in SVG attributes, colours in Tailwind fill/stroke classes.

export interface BarSeries {
  name: string;
  /** Tailwind fill class for the bars, e.g. fill-indigo-500. */
  fillClass: string;
  /** Tailwind background class for the legend swatch, e.g. bg-indigo-500. */
  swatchClass: string;
}

export interface BarDatum {
  key: string;
  /** Full label for the data table, e.g. "Sat, 1 Nov 2025". */
  label: string;
  /** Short axis label, e.g. "1 Nov". */
  tick: string;
  /** One value per series, stacked bottom to top. */
  values: number[];
  /** Tooltip text of the bar. */
  title: string;
  /** The cells of the data table's `extraColumns`, in their order (e.g. the day's sessions). */
  extra?: (string | number)[];
}

/** A "nice" tick step (1, 2, 5 × 10ⁿ, at least 1) giving at most `count` intervals up to max. */
export function niceStep(max: number, count = 4): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  return Math.max(1, Math.ceil(step));
}

const sum = (values: number[]) => values.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);

export function hasBars(data: BarDatum[]): boolean {
  return data.some((d) => sum(d.values) > 0);
}

export function BarChart({
  label,
  data,
  series,
  width = 800,
  height = 240,
  maxTicks = 10,
  fontSize = 12,
  emptyText = 'Nothing to show.',
  className = '',
}: {
  /** The chart's text alternative (aria-label). */
  label: string;
  data: BarDatum[];
  series: BarSeries[];
  width?: number;
  height?: number;
  /** At most this many x-axis labels. */
  maxTicks?: number;
  fontSize?: number;
  emptyText?: string;
  className?: string;
}) {
  if (!hasBars(data)) {
    return <p className="py-10 text-center text-sm text-slate-500">{emptyText}</p>;
  }

  const left = fontSize * 3;
  const right = fontSize * 1.5;
  const top = fontSize;
  const bottom = fontSize * 2.2;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(...data.map((d) => sum(d.values)));
  const step = niceStep(max);
  const yMax = Math.ceil(max / step) * step;
  const yTicks = Array.from({ length: yMax / step + 1 }, (_, i) => i * step);
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const slot = plotW / data.length;
  const barW = Math.max(1, slot * 0.72);
  const every = Math.max(1, Math.ceil(data.length / maxTicks));

  return (
    <svg
      role="img"
      aria-label={label}
      viewBox={`0 0 ${width} ${height}`}
      className={`h-auto w-full ${className}`}
      fontSize={fontSize}
    >
      <g>
        {yTicks.map((t) => (
          <g key={t}>
            <line
              x1={left}
              x2={width - right}
              y1={y(t)}
              y2={y(t)}
              className={t === 0 ? 'stroke-slate-300' : 'stroke-slate-100'}
              strokeWidth={1}
            />
            <text
              x={left - fontSize / 2}
              y={y(t)}
              dy="0.32em"
              textAnchor="end"
              className="fill-slate-500"
            >
              {t}
            </text>
          </g>
        ))}
        {data.map((d, i) =>
          i % every === 0 ? (
            <text
              key={d.key}
              x={left + slot * (i + 0.5)}
              y={height - fontSize * 0.6}
              textAnchor="middle"
              className="fill-slate-500"
            >
              {d.tick}
            </text>
          ) : null,
        )}
      </g>
      {data.map((d, i) => {
        const x = left + slot * i + (slot - barW) / 2;
        let acc = 0;
        return (
          <g key={d.key}>
            <title>{d.title}</title>
            <rect
              x={left + slot * i}
              y={top}
              width={slot}
              height={plotH}
              className="fill-transparent hover:fill-slate-900/5"
            />
            {d.values.map((v, s) => {
              if (!(v > 0)) return null;
              const y0 = y(acc);
              acc += v;
              const y1 = y(acc);
              return (
                <rect
                  key={series[s]?.name ?? s}
                  x={x}
                  y={y1}
                  width={barW}
                  height={Math.max(0, y0 - y1)}
                  className={`pointer-events-none ${series[s]?.fillClass ?? 'fill-slate-400'}`}
                />
              );
            })}
          </g>
        );
      })}
    </svg>
  );
}

/** The chart at a phone's width (fewer ticks), and at a wider screen's. */
const CHART_SIZES = [
  { width: 340, height: 210, maxTicks: 4, className: 'md:hidden' },
  { width: 800, height: 240, maxTicks: 10, className: 'hidden md:block' },
];

/**
 * The chart with its legend and a visually hidden table of the same data; a compact drawing on
 * phones and a wide one from md up, so the text stays readable at both sizes. The table has a
 * column per series, before them a total of stacked series, and after them `extraColumns`: what
 * the bars' titles say that the bars do not draw.
 */
export function ChartFigure({
  label,
  data,
  series,
  categoryHeader,
  totalHeader,
  extraColumns = [],
  emptyText,
}: {
  label: string;
  data: BarDatum[];
  series: BarSeries[];
  /** Header of the first column of the hidden table, e.g. "Date". */
  categoryHeader: string;
  /** Header of the total column, e.g. "Calls"; a single series has none (it is its own total). */
  totalHeader?: string;
  /** Headers of further columns, each datum's `extra` their cells, e.g. "Sessions". */
  extraColumns?: string[];
  emptyText?: string;
}) {
  const withTotal = series.length > 1;
  if (!hasBars(data)) {
    return <BarChart label={label} data={data} series={series} emptyText={emptyText} />;
  }
  return (
    <div>
      {CHART_SIZES.map((size) => (
        <BarChart
          key={size.className}
          label={label}
          data={data}
          series={series}
          fontSize={12}
          {...size}
        />
      ))}
      <ul
        aria-label="Legend"
        className="mt-3 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600"
      >
        {series.map((s) => (
          <li key={s.name} className="inline-flex items-center gap-1.5">
            <span aria-hidden="true" className={`size-2.5 rounded-sm ${s.swatchClass}`} />
            {s.name}
          </li>
        ))}
      </ul>
      {/* The wrapper clips: a table never shrinks below its content, even when sr-only. */}
      <div className="sr-only">
        <table>
          <caption>{label}</caption>
          <thead>
            <tr>
              <th scope="col">{categoryHeader}</th>
              {withTotal && <th scope="col">{totalHeader ?? 'Total'}</th>}
              {series.map((s) => (
                <th key={s.name} scope="col">
                  {s.name}
                </th>
              ))}
              {extraColumns.map((header) => (
                <th key={header} scope="col">
                  {header}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.key}>
                <th scope="row">{d.label}</th>
                {withTotal && <td>{sum(d.values)}</td>}
                {d.values.map((v, i) => (
                  <td key={series[i]?.name ?? i}>{v}</td>
                ))}
                {extraColumns.map((header, i) => (
                  <td key={header}>{d.extra?.[i] ?? ''}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
