// How the population lists read a team: every page up to a maximum (past it, a 400 naming the
// care team before any figures are read), then each patient with a bounded number in flight.
import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { everyPatientUpTo, readEachPatient } from '../../../dashboard-api/population-read.js';
import { ApiError } from '../../../dashboard-api/errors.js';
import type { Page, PageRequest, Patient } from '../../../store/index.js';

function patient(index: number): Patient {
  return { id: `p-${String(index).padStart(4, '0')}`, name: `Patient ${index}` } as Patient;
}

/** A keyset listing of `count` patients, `limit` per page, counting the pages asked. */
function listing(count: number) {
  const all = Array.from({ length: count }, (_, index) => patient(index));
  const asked: PageRequest[] = [];
  const fetchPage = async (request: PageRequest): Promise<Page<Patient>> => {
    asked.push(request);
    const start = request.after === undefined ? 0 : all.findIndex((p) => p.id === request.after) + 1;
    const items = all.slice(start, start + (request.limit ?? 50));
    return { items, nextCursor: start + items.length < all.length ? items[items.length - 1]!.id : null };
  };
  return { all, asked, fetchPage };
}

describe('everyPatientUpTo', () => {
  it('reads every page of the listing, in its order', async () => {
    const { all, asked, fetchPage } = listing(1_234);
    await expect(everyPatientUpTo(fetchPage, 2_000, 'patients')).resolves.toEqual(all);
    expect(asked.length).toBe(3);
  });

  it('takes exactly the maximum, and refuses one more with a 400 naming the care team', async () => {
    await expect(everyPatientUpTo(listing(1_000).fetchPage, 1_000, 'CGM wearers')).resolves.toHaveLength(1_000);
    const refused = await everyPatientUpTo(listing(1_001).fetchPage, 1_000, 'CGM wearers').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).statusCode).toBe(400);
    expect((refused as ApiError).message).toBe('querystring/careTeamId: more than 1000 CGM wearers in the teams asked; ask for one care team at a time');
  });

  it('answers an empty team with no patients', async () => {
    await expect(everyPatientUpTo(listing(0).fetchPage, 10, 'patients')).resolves.toEqual([]);
  });
});

describe('readEachPatient', () => {
  it('reads every patient once with at most the concurrency in flight, leaving out those read as undefined', async () => {
    const patients = Array.from({ length: 50 }, (_, index) => patient(index));
    let inFlight = 0;
    let most = 0;
    const read: string[] = [];
    const rows = await readEachPatient(patients, 8, async (p) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await sleep(Number(p.id.slice(2)) % 3);
      inFlight -= 1;
      read.push(p.id);
      return Number(p.id.slice(2)) % 5 === 0 ? undefined : p.id;
    });
    expect(most).toBe(8);
    expect([...read].sort()).toEqual(patients.map((p) => p.id));
    expect([...rows].sort()).toEqual(patients.filter((_, index) => index % 5 !== 0).map((p) => p.id));
  });

  it('lets other work run between patients read synchronously', async () => {
    const patients = Array.from({ length: 20 }, (_, index) => patient(index));
    let otherWorkRan = 0;
    const ticker = setInterval(() => (otherWorkRan += 1), 0);
    // Each read blocks for 2 ms, as the embedded store's synchronous reads do.
    const before: number[] = [];
    await readEachPatient(patients, 1, async () => {
      before.push(otherWorkRan);
      const until = Date.now() + 2;
      while (Date.now() < until);
      return 1;
    });
    clearInterval(ticker);
    expect(before[before.length - 1]!).toBeGreaterThan(before[0]!);
  });

  it('answers no patients with no rows', async () => {
    await expect(readEachPatient([], 8, async () => 1)).resolves.toEqual([]);
  });
});
