// Where a chart's threshold labels go. Each label sits beside its dashed line; two thresholds a few
// units apart (systolic < 90 and a diastolic mean ≥ 85 on one blood-pressure chart) had their labels
// drawn over each other at the same corner, neither readable. Each label now takes the first of four
// places beside its line that no label placed before it overlaps and no reading's line crosses.

/** The plotting area, in canvas pixels. */
export interface Area {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** A label to place: its line's height on the canvas and the label's width, in canvas pixels. */
export interface LabelToPlace {
  y: number;
  width: number;
}

/** Where to draw a label: its anchor, and how the text hangs from it (canvas textAlign, textBaseline). */
export interface PlacedLabel {
  x: number;
  y: number;
  align: 'left' | 'right';
  baseline: 'bottom' | 'top';
}

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * A series as drawn: each point's x (ascending) and y, null where it has no value, and how each is
 * placed on the canvas (the identity when they are canvas pixels already). Only the points near a
 * label's place are converted: a 90-day CGM chart has 25,920, and converting them all at every draw
 * took ~25 ms of its first draw (bench/console.ts).
 */
export interface DrawnSeries {
  xs: ArrayLike<number>;
  ys: ArrayLike<number | null | undefined>;
  toX?: (x: number) => number;
  toY?: (y: number) => number;
}

const same = (value: number) => value;

/** The first index whose canvas x is at least `x` (xs ascending, toX increasing). */
function firstAtOrAfter(xs: ArrayLike<number>, toX: (x: number) => number, x: number): number {
  let low = 0;
  let high = xs.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (toX(xs[middle]!) < x) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Whether the series' line may pass through the box: some point within the box's width, or the
 * segments entering and leaving it, reach its height. The segments' ends are taken whole (no
 * interpolation at the box's edges), which can only say "crosses" too often, never too rarely.
 */
export function crossesSeries(box: Box, series: DrawnSeries): boolean {
  const { xs, ys, toX = same, toY = same } = series;
  const from = Math.max(0, firstAtOrAfter(xs, toX, box.left) - 1);
  const to = Math.min(xs.length - 1, firstAtOrAfter(xs, toX, box.right));
  const yAt = (i: number) => {
    const value = ys[i];
    return value === null || value === undefined ? null : toY(value);
  };
  let y = from <= to ? yAt(from) : null;
  for (let i = from; i <= to; i += 1) {
    const next = i < to ? yAt(i + 1) : null;
    if (y !== null) {
      if (y >= box.top && y <= box.bottom) return true;
      if (next !== null && Math.min(y, next) <= box.bottom && Math.max(y, next) >= box.top) return true;
    }
    y = next;
  }
  return false;
}

function overlap(a: Box, b: Box): number {
  const width = Math.min(a.right, b.right) - Math.max(a.left, b.left);
  const height = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
  return width > 0 && height > 0 ? width * height : 0;
}

/**
 * Places labels `textHeight` tall, `gap` away from their lines: above the line at its right end,
 * else below it, else above and then below at its left end; the first place inside the area that
 * overlaps no label placed before (lines from the top of the chart down) and that no series crosses.
 * When every place is taken (more thresholds than fit), a label over readings rather than over
 * another label, else the one overlapping least. Returned in the order given.
 */
export function placeLabels(labels: readonly LabelToPlace[], area: Area, textHeight: number, gap: number, series: readonly DrawnSeries[] = []): PlacedLabel[] {
  const right = area.left + area.width;
  const bottom = area.top + area.height;
  const placed: Box[] = [];
  const result: PlacedLabel[] = new Array<PlacedLabel>(labels.length);
  const order = labels.map((_, index) => index).sort((a, b) => labels[a]!.y - labels[b]!.y);
  for (const index of order) {
    const { y, width } = labels[index]!;
    const candidates: { label: PlacedLabel; box: Box }[] = [];
    for (const align of ['right', 'left'] as const) {
      const x = align === 'right' ? right - gap : area.left + gap;
      const boxLeft = align === 'right' ? x - width : x;
      candidates.push({ label: { x, y: y - gap, align, baseline: 'bottom' }, box: { left: boxLeft, right: boxLeft + width, top: y - gap - textHeight, bottom: y - gap } });
      candidates.push({ label: { x, y: y + gap, align, baseline: 'top' }, box: { left: boxLeft, right: boxLeft + width, top: y + gap, bottom: y + gap + textHeight } });
    }
    // Outside the area is worst, then over another label (any overlap is at least a fraction of a
    // pixel squared: weighed a thousand-fold), then across a reading's line.
    const cost = (box: Box) =>
      (box.top < area.top || box.bottom > bottom ? 1e12 : 0) + 1000 * placed.reduce((sum, other) => sum + overlap(box, other), 0) + series.filter((drawn) => crossesSeries(box, drawn)).length;
    let best = candidates[0]!;
    let bestCost = cost(best.box);
    for (const candidate of candidates.slice(1)) {
      if (bestCost === 0) break;
      const candidateCost = cost(candidate.box);
      if (candidateCost < bestCost) {
        best = candidate;
        bestCost = candidateCost;
      }
    }
    placed.push(best.box);
    result[index] = best.label;
  }
  return result;
}
