// Time-series charts with uPlot (canvas, fast with tens of thousands of points), in the patient's
// time zone: the axis reads the patient's local time, whatever the nurse's browser is set to.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
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

/** Above this many readings the points are not marked one by one (25,920 markers took ~400 ms to draw). */
const MAX_MARKED_POINTS = 1_000;

export function TimeChart({ title, timesMs, series, timezone, unit, band, summary }: { title: string; timesMs: number[]; series: Series[]; timezone: string; unit: string; band?: Band; summary?: string }) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    // Measured for npm run bench (the 25,920-point glucose chart): construction and first draw.
    performance.mark(`chart-start:${title}`);
    const plot = new uPlot(
      {
        width: Math.max(320, element.clientWidth || 640),
        height: 260,
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), timezone),
        scales: { x: { time: true } },
        axes: [{}, { label: unit }],
        // Each reading marked while they are few enough to tell apart; a CGM's thousands are a line.
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, points: { show: timesMs.length <= MAX_MARKED_POINTS, size: 5 } }))],
        hooks: band
          ? {
              drawClear: [
                (u: uPlot) => {
                  const top = u.valToPos(band.to, 'y', true);
                  const bottom = u.valToPos(band.from, 'y', true);
                  u.ctx.save();
                  u.ctx.fillStyle = band.fill;
                  u.ctx.fillRect(u.bbox.left, top, u.bbox.width, bottom - top);
                  u.ctx.restore();
                },
              ],
            }
          : {},
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
  }, [timesMs, series, timezone, unit, band]);
  return html`<figure class="chart">
    <figcaption>${title} (${timezone} time; the table below lists every point)${summary ? html`<br /><strong>${summary}</strong>` : null}</figcaption>
    <div ref=${container} role="img" aria-label=${`${title}: ${timesMs.length} readings`} data-points=${timesMs.length}></div>
  </figure>`;
}
