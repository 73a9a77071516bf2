// Time-series charts with uPlot (canvas, fast with tens of thousands of points), in the patient's
// time zone: the axis reads the patient's local time, whatever the nurse's browser is set to.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { placeLabels } from './chart-labels.js';
import { html } from './html.js';

export interface Series {
  label: string;
  /** Canvas colours; the legend and the table beside every chart carry the same information as text. */
  stroke: string;
  values: (number | null)[];
}

/** A horizontal band drawn behind the series (a target range), in the chart's units. */
export interface Band {
  from: number;
  to: number;
  fill: string;
}

/** A horizontal line at a rule's threshold (the patient's effective value), labelled on the chart. */
export interface Line {
  value: number;
  label: string;
  stroke: string;
}

/** One empty list, so that a chart without lines is not drawn again on every render. */
const NO_LINES: Line[] = [];

/** Above this many readings the points are not marked one by one (25,920 markers took ~400 ms to draw). */
const MAX_MARKED_POINTS = 1_000;

/** Draws the band and the threshold lines behind the readings, each line dashed. */
function drawGuides(u: uPlot, band: Band | undefined, lines: readonly Line[]): void {
  const { ctx } = u;
  ctx.save();
  if (band) {
    const top = u.valToPos(band.to, 'y', true);
    const bottom = u.valToPos(band.from, 'y', true);
    ctx.fillStyle = band.fill;
    ctx.fillRect(u.bbox.left, top, u.bbox.width, bottom - top);
  }
  ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
  ctx.lineWidth = devicePixelRatio;
  for (const line of lines) {
    const y = u.valToPos(line.value, 'y', true);
    ctx.strokeStyle = line.stroke;
    ctx.beginPath();
    ctx.moveTo(u.bbox.left, y);
    ctx.lineTo(u.bbox.left + u.bbox.width, y);
    ctx.stroke();
  }
  ctx.restore();
}

/**
 * Labels each threshold line in words, each where no other label is and no reading's line runs
 * (placeLabels), on a white ground that the grid does not cross. Drawn after the axes and before the
 * readings, so that where a label cannot keep clear of them it still never hides a reading.
 */
function drawGuideLabels(u: uPlot, lines: readonly Line[]): void {
  const { ctx } = u;
  ctx.save();
  const fontPx = 12 * devicePixelRatio;
  const pad = 2 * devicePixelRatio;
  ctx.font = `${fontPx}px system-ui, sans-serif`;
  const widths = lines.map((line) => ctx.measureText(line.label).width);
  const toX = (x: number) => u.valToPos(x, 'x', true);
  const toY = (y: number) => u.valToPos(y, 'y', true);
  const drawn = u.data.slice(1).flatMap((values, i) => (u.series[i + 1]?.show === false ? [] : [{ xs: u.data[0], ys: values as ArrayLike<number | null | undefined>, toX, toY }]));
  const places = placeLabels(
    lines.map((line, i) => ({ y: u.valToPos(line.value, 'y', true), width: widths[i]! })),
    u.bbox,
    fontPx,
    4 * devicePixelRatio,
    drawn,
  );
  lines.forEach((line, i) => {
    const place = places[i]!;
    const left = place.align === 'right' ? place.x - widths[i]! : place.x;
    const top = place.baseline === 'bottom' ? place.y - fontPx : place.y;
    ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
    ctx.fillRect(left - pad, top - pad, widths[i]! + 2 * pad, fontPx + 2 * pad);
    ctx.fillStyle = line.stroke;
    ctx.textAlign = place.align;
    ctx.textBaseline = place.baseline;
    ctx.fillText(line.label, place.x, place.y);
  });
  ctx.restore();
}

/** The data's range widened to the guides, with a little room above and below. */
function paddedRange(values: (number | null)[]): [number, number] {
  const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (known.length === 0) return [0, 1];
  const low = Math.min(...known);
  const high = Math.max(...known);
  const pad = Math.max((high - low) * 0.08, Math.abs(high) * 0.01, 0.5);
  return [low - pad, high + pad];
}

const HALF_DAY_S = 12 * 60 * 60;

/** Where a chart's points are listed as text (a chart is an image; the table is what a screen reader reads). */
const LISTED_BELOW = 'the table below lists every point';

export function TimeChart({ title, timesMs, series, timezone, unit, band, lines = NO_LINES, summary, listed = LISTED_BELOW }: { title: string; timesMs: number[]; series: Series[]; timezone: string; unit: string; band?: Band; lines?: Line[]; summary?: string; listed?: string }) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    // Measured for npm run bench (the 25,920-point glucose chart): construction and first draw.
    performance.mark(`chart-start:${title}`);
    const single = timesMs.length > 0 && timesMs[0] === timesMs[timesMs.length - 1] ? timesMs[0]! / 1000 : undefined;
    const plot = new uPlot(
      {
        width: Math.max(320, element.clientWidth || 640),
        height: 260,
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), timezone),
        axes: [{}, { label: unit }],
        // Each reading marked while they are few enough to tell apart; a CGM's thousands are a line.
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, points: { show: timesMs.length <= MAX_MARKED_POINTS, size: 5 } }))],
        // The thresholds stay in view: a line at 180 above readings around 130 shows the distance to it.
        // Readings at one instant alone (one reading): half a day either side of it. uPlot widens a
        // single instant by 86400 / ms, which with times in seconds is a thousand days: the point sat
        // at the left edge of an axis running to 2029.
        scales: { x: { time: true, ...(single !== undefined ? { range: (): [number, number] => [single - HALF_DAY_S, single + HALF_DAY_S] } : {}) }, y: { range: (_u, min, max) => paddedRange([min, max, ...lines.map((l) => l.value), ...(band ? [band.from, band.to] : [])]) } },
        hooks: band || lines.length > 0 ? { drawClear: [(u: uPlot) => drawGuides(u, band, lines)], drawAxes: [(u: uPlot) => drawGuideLabels(u, lines)] } : {},
      },
      [timesMs.map((ms) => ms / 1000), ...series.map((s) => s.values)],
      element,
    );
    // uPlot commits its first draw in a microtask; the next frame comes after it.
    const frame = requestAnimationFrame(() => performance.measure(`chart:${title}:${timesMs.length}`, `chart-start:${title}`));
    return () => {
      cancelAnimationFrame(frame);
      plot.destroy();
    };
  }, [timesMs, series, timezone, unit, band, lines]);
  return html`<figure class="chart">
    <figcaption>${title} (${timezone} time; ${listed})${summary ? html`<br /><strong>${summary}</strong>` : null}</figcaption>
    ${lines.length > 0 ? html`<p class="thresholds-drawn">Thresholds drawn (dashed): ${lines.map((l) => l.label).join('; ')}</p>` : null}
    <div ref=${container} role="img" aria-label=${`${title}: ${timesMs.length} readings`} data-points=${timesMs.length}></div>
  </figure>`;
}
