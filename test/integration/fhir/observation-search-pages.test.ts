// Observation search pages built from days of entries kept joined (fhir/observation-pages.ts,
// ObservationSearchPages) give exactly the entries a search straight on the store gives
// (observationPage over store.query), byte for byte, page by page through every `next` cursor:
// for ranges cut inside days and made of whole days, both orders, codes and categories, pages that
// end inside a day and on a day's last entry, before and after a reading today, a late reading for a
// kept day and a write by another connection; with a cache too small to keep anything. Both stores.
import { expect, it } from '@jest/globals';
import { DAY_MS, HOUR_MS } from '../../../device-profiles/index.js';
import { ObservationSearchPages, observationPage, parseObservationSearch, type ObservationSearch, type RawQuery } from '../../../fhir/index.js';
import { KeptReadings, type StoredReading } from '../../../store/index.js';
import { onEachReadingsStore, readingAt, type ReadingsStoreFixture } from '../../support/readings-stores.js';

const BASE = 'http://rpm.example/fhir/R4';

function observationSearchPagesSuite(fixture: ReadingsStoreFixture): void {
  const { midnight, patient } = fixture;
  const iso = (ms: number) => new Date(ms).toISOString();
  const searches: RawQuery[] = [
    { date: [`ge${iso(midnight - 20 * DAY_MS + 12_345)}`, `lt${iso(Date.now() + 60_000)}`], _count: '1000' },
    { date: [`ge${iso(midnight - 20 * DAY_MS)}`, `lt${iso(midnight)}`], _count: '1000', _sort: 'date' },
    { date: [`ge${iso(midnight - 20 * DAY_MS)}`, `lt${iso(midnight)}`], code: 'http://loinc.org|85354-9', _count: '7' },
    { date: [`ge${iso(midnight - 9 * DAY_MS + 1)}`, `le${iso(midnight - 2 * DAY_MS)}`], _count: '6', _sort: 'date' },
    { date: [`ge${iso(midnight - 15 * DAY_MS)}`, `lt${iso(midnight + DAY_MS)}`], category: 'laboratory', _count: '2' },
    { date: [`ge${iso(midnight - 15 * DAY_MS)}`, `lt${iso(midnight + DAY_MS)}`], code: '8867-4', _count: '12' },
    // A page that ends on the last entry of a whole day (6 blood-pressure readings a day, two entries each).
    { date: [`ge${iso(midnight - 6 * DAY_MS)}`, `lt${iso(midnight - 3 * DAY_MS)}`], _count: '12', _sort: 'date' },
  ];

  /** Every page of a search, following `next`, as the entries' bytes. */
  async function allPages(build: (search: ObservationSearch) => Promise<{ entries: string; next?: ObservationSearch['cursor'] }>, raw: RawQuery): Promise<string[]> {
    const pages: string[] = [];
    let search = parseObservationSearch(raw, false);
    for (let guard = 0; guard < 500; guard += 1) {
      const { entries, next } = await build(search);
      pages.push(entries);
      if (!next) return pages;
      search = { ...search, cursor: next };
    }
    throw new Error('more than 500 pages');
  }

  const fromStore = async (search: ObservationSearch) => {
    const page = await observationPage(fixture.store, patient, search);
    const entries = page.observations.map((o) => `{"fullUrl":"${BASE}/Observation/${o.id}","resource":${o.json},"search":{"mode":"match"}}`).join(',');
    return { entries, next: page.next };
  };
  const fromKeptDays = (pages: ObservationSearchPages) => async (search: ObservationSearch) => {
    const page = await pages.page(patient, search, BASE);
    const entries = Buffer.concat(page.parts).toString();
    expect(page.count).toBe(entries === '' ? 0 : (entries.match(/\{"fullUrl":/g) ?? []).length);
    return { entries, next: page.next };
  };

  async function expectSameAsStore(pages: ObservationSearchPages): Promise<void> {
    for (const raw of searches) {
      const expected = await allPages(fromStore, raw);
      expect(expected.join('').length).toBeGreaterThan(0);
      expect(await allPages(fromKeptDays(pages), raw)).toEqual(expected);
    }
  }

  it('pages through what a search on the store gives, across every kind of write', async () => {
    const readings: StoredReading[] = [];
    // Six blood pressures a day for 20 days (none on two of them), a glucose a day, and readings on the edges of days.
    for (let at = midnight - 20 * DAY_MS; at < Date.now(); at += 4 * HOUR_MS) {
      if (at >= midnight - 12 * DAY_MS && at < midnight - 10 * DAY_MS) continue;
      readings.push(readingAt(patient, at));
      if (at % DAY_MS === 8 * HOUR_MS) readings.push(readingAt(patient, at + 1, 'glucose'));
    }
    readings.push(readingAt(patient, midnight - 5 * DAY_MS), readingAt(patient, midnight - 5 * DAY_MS, 'blood_pressure', 'cuff-2'), readingAt(patient, midnight - 5 * DAY_MS - 1));
    await fixture.store.write(readings);
    const pages = new ObservationSearchPages(new KeptReadings(fixture.store));
    await expectSameAsStore(pages);
    await expectSameAsStore(pages);
    await expectSameAsStore(new ObservationSearchPages(new KeptReadings(fixture.store, 10), 1_000));

    // A reading today; a late one for a kept day (a gateway's backlog); one written by another connection.
    await fixture.store.write([readingAt(patient, Math.min(Date.now() - 1000, midnight + 1000))]);
    await fixture.store.write([readingAt(patient, midnight - 7 * DAY_MS + 5_000), readingAt(patient, midnight - 2 * DAY_MS + 7_200_000, 'glucose')]);
    const elsewhere = await fixture.other();
    await elsewhere.write([readingAt(patient, midnight - 11 * DAY_MS + 60_000)]);
    await elsewhere.close();
    await expectSameAsStore(pages);
  }, 120_000);
}

onEachReadingsStore('FHIR search pages of kept days', observationSearchPagesSuite);
