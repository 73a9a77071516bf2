// HTTPS devices sign in with every request: a successful sign-in is remembered for seconds, and
// forgotten at once when the device's secret is rotated or it is retired through the same store.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecentSignIns } from '../../../ingest/recent-sign-ins.js';
import { ClinicalStore } from '../../../store/index.js';

let store: ClinicalStore;

beforeAll(async () => {
  store = await ClinicalStore.open({ dialect: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'rpm-sign-ins-')), 'clinical.sqlite') });
});

afterAll(async () => {
  await store?.close();
});

describe('recent HTTPS sign-ins', () => {
  it('answers a repeated sign-in from memory, and never a wrong secret', async () => {
    const { secret } = await store.devices.provision({ id: 'cuff-sign-in-1', kind: 'blood_pressure' });
    const lookups = jest.spyOn(store.devices, 'authenticate');
    const signIns = new RecentSignIns(store.devices);
    try {
      expect((await signIns.authenticate('cuff-sign-in-1', secret))?.id).toBe('cuff-sign-in-1');
      expect((await signIns.authenticate('cuff-sign-in-1', secret))?.id).toBe('cuff-sign-in-1');
      expect(lookups).toHaveBeenCalledTimes(1);
      // A wrong secret is not the remembered one: the store is asked, and refuses it.
      expect(await signIns.authenticate('cuff-sign-in-1', `${secret}x`)).toBeUndefined();
      expect(await signIns.authenticate('cuff-sign-in-1', '')).toBeUndefined();
      expect(lookups).toHaveBeenCalledTimes(3);
      // Another device with the first one's secret is not signed in by it.
      await store.devices.provision({ id: 'cuff-sign-in-2', kind: 'blood_pressure' });
      expect(await signIns.authenticate('cuff-sign-in-2', secret)).toBeUndefined();
      // The right secret after the wrong ones is still remembered.
      expect((await signIns.authenticate('cuff-sign-in-1', secret))?.id).toBe('cuff-sign-in-1');
      expect(lookups).toHaveBeenCalledTimes(4);
    } finally {
      lookups.mockRestore();
      signIns.close();
    }
  });

  it('forgets a device at once when its secret is rotated or it is retired, and each sign-in after its time', async () => {
    const { secret: first } = await store.devices.provision({ id: 'cuff-sign-in-3', kind: 'blood_pressure' });
    const signIns = new RecentSignIns(store.devices, 200);
    try {
      expect(await signIns.authenticate('cuff-sign-in-3', first)).toBeDefined();
      const { secret: second } = await store.devices.provision({ id: 'cuff-sign-in-3', kind: 'blood_pressure' });
      expect(await signIns.authenticate('cuff-sign-in-3', first)).toBeUndefined();
      expect(await signIns.authenticate('cuff-sign-in-3', second)).toBeDefined();
      await store.devices.retire('cuff-sign-in-3');
      expect(await signIns.authenticate('cuff-sign-in-3', second)).toBeUndefined();

      // Past its time a sign-in is checked with the store again.
      const { secret } = await store.devices.provision({ id: 'cuff-sign-in-4', kind: 'blood_pressure' });
      const lookups = jest.spyOn(store.devices, 'authenticate');
      try {
        await signIns.authenticate('cuff-sign-in-4', secret);
        await signIns.authenticate('cuff-sign-in-4', secret);
        expect(lookups).toHaveBeenCalledTimes(1);
        await new Promise((resolve) => setTimeout(resolve, 250));
        await signIns.authenticate('cuff-sign-in-4', secret);
        expect(lookups).toHaveBeenCalledTimes(2);
      } finally {
        lookups.mockRestore();
      }
    } finally {
      signIns.close();
    }
  });

  it('does not remember a sign-in looked up while the device changed (it may be of the old secret)', async () => {
    const { secret } = await store.devices.provision({ id: 'cuff-sign-in-5', kind: 'blood_pressure' });
    const signIns = new RecentSignIns(store.devices);
    const lookups = jest.spyOn(store.devices, 'authenticate');
    try {
      const during = signIns.authenticate('cuff-sign-in-5', secret);
      // The change lands while the lookup is on its way.
      store.devices.announceChanged(['cuff-sign-in-5']);
      expect(await during).toBeDefined();
      await signIns.authenticate('cuff-sign-in-5', secret);
      expect(lookups).toHaveBeenCalledTimes(2);
    } finally {
      lookups.mockRestore();
      signIns.close();
    }
  });
});
