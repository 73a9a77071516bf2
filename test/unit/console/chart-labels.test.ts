// Threshold labels on the console's charts: beside their lines, never over one another while there
// is room (the blood-pressure chart's "systolic < 90" and "7-day mean diastolic ≥ 85" once shared a
// corner), inside the plotting area.
import { describe, expect, it } from '@jest/globals';
import { crossesSeries, placeLabels, type Area, type PlacedLabel } from '../../../console/src/chart-labels.js';

const area: Area = { left: 50, top: 10, width: 600, height: 240 };
const TEXT = 12;
const GAP = 4;

/** A placed label's box, as the canvas draws it. */
function box(place: PlacedLabel, width: number) {
  const left = place.align === 'right' ? place.x - width : place.x;
  const top = place.baseline === 'bottom' ? place.y - TEXT : place.y;
  return { left, right: left + width, top, bottom: top + TEXT };
}

function overlaps(a: ReturnType<typeof box>, b: ReturnType<typeof box>): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

describe('threshold labels on a chart', () => {
  it('puts a lone label above its line at the right end', () => {
    expect(placeLabels([{ y: 120, width: 150 }], area, TEXT, GAP)).toEqual([{ x: 646, y: 116, align: 'right', baseline: 'bottom' }]);
  });

  it('puts labels of lines a few pixels apart where they do not overlap, each beside its own line', () => {
    const labels = [
      { y: 140, width: 160 },
      { y: 131, width: 210 },
    ];
    const places = placeLabels(labels, area, TEXT, GAP);
    const boxes = places.map((place, i) => box(place, labels[i]!.width));
    expect(overlaps(boxes[0]!, boxes[1]!)).toBe(false);
    // The upper line keeps the first place; the lower one's label goes below its own line.
    expect(places[1]).toEqual({ x: 646, y: 127, align: 'right', baseline: 'bottom' });
    expect(places[0]).toEqual({ x: 646, y: 144, align: 'right', baseline: 'top' });
  });

  it('uses the left end when three lines crowd the right one, and stays inside the area', () => {
    const labels = [130, 134, 138].map((y) => ({ y, width: 180 }));
    const places = placeLabels(labels, area, TEXT, GAP);
    const boxes = places.map((place, i) => box(place, labels[i]!.width));
    for (let i = 0; i < boxes.length; i += 1) {
      for (let j = i + 1; j < boxes.length; j += 1) expect(overlaps(boxes[i]!, boxes[j]!)).toBe(false);
    }
    expect(places.some((place) => place.align === 'left')).toBe(true);
    for (const b of boxes) expect(b.left >= area.left && b.right <= area.left + area.width && b.top >= area.top && b.bottom <= area.top + area.height).toBe(true);
  });

  it('puts the label of a line at the top edge below it, inside the area', () => {
    expect(placeLabels([{ y: 12, width: 100 }], area, TEXT, GAP)).toEqual([{ x: 646, y: 16, align: 'right', baseline: 'top' }]);
  });

  it('keeps a label off a reading’s line when a place beside its own line is free of it', () => {
    const xs = [60, 200, 400, 640];
    // Readings just above a threshold line at y = 40 run through the places above it: below it.
    const [below] = placeLabels([{ y: 40, width: 100 }], area, TEXT, GAP, [{ xs, ys: [30, 31, 29, 30] }]);
    expect(below).toEqual({ x: 646, y: 44, align: 'right', baseline: 'top' });
    // Readings along y = 200, just below a threshold line at 196.
    const readings = { xs, ys: [200, 201, 199, 200] };
    // Above the line at 196 the upper place is free of the readings too: it stays there.
    expect(placeLabels([{ y: 196, width: 100 }], area, TEXT, GAP, [readings])[0]).toEqual({ x: 646, y: 192, align: 'right', baseline: 'bottom' });
    // A line at 190 with the place above it at the right taken by another label: below it the
    // readings run, so the label goes to the left end, above its line.
    const places = placeLabels(
      [
        { y: 182, width: 100 },
        { y: 190, width: 100 },
      ],
      area,
      TEXT,
      GAP,
      [readings],
    );
    expect(places[1]).toEqual({ x: 54, y: 186, align: 'left', baseline: 'bottom' });
  });

  it('tells whether a series’ line passes through a box, across gaps in it', () => {
    const box = { left: 100, right: 200, top: 50, bottom: 62 };
    // A point inside; a segment crossing the box with both ends outside it; a line passing above.
    expect(crossesSeries(box, { xs: [90, 150, 210], ys: [10, 55, 10] })).toBe(true);
    expect(crossesSeries(box, { xs: [90, 210], ys: [10, 100] })).toBe(true);
    expect(crossesSeries(box, { xs: [90, 150, 210], ys: [10, 20, 30] })).toBe(false);
    // Readings only left and right of the box, far away in x, each side level with it.
    expect(crossesSeries(box, { xs: [0, 10, 400], ys: [10, 10, 10] })).toBe(false);
    // A gap (no value) between two points: no line is drawn across it.
    expect(crossesSeries(box, { xs: [90, 150, 210], ys: [55, null, 55] })).toBe(true);
    expect(crossesSeries({ left: 120, right: 180, top: 50, bottom: 62 }, { xs: [90, 150, 210], ys: [10, null, 10] })).toBe(false);
  });

  it('still places every label when more lines than places crowd together', () => {
    const labels = Array.from({ length: 6 }, (_, i) => ({ y: 100 + i, width: 120 }));
    const places = placeLabels(labels, area, TEXT, GAP);
    expect(places).toHaveLength(6);
    expect(places.every((place) => place !== undefined)).toBe(true);
  });
});
