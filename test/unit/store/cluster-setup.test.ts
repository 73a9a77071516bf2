// Set-up steps of the highly available shape against a cluster whose processes start together: a
// stream or consumer another process has just created may be answered "not found" for a moment
// (a CI run on 2026-12-06 failed to start an ingest process so), and two processes may create the
// same stream at once. Those answers are waited out or taken as done; anything else still fails.
import { describe, expect, it } from '@jest/globals';
import { STREAM_SETTLING, ensureStream, patiently, type ClusterEngine } from '../../../store/index.js';

/** A step that fails with `message` the first `failures` times, then answers 'done'. */
function failingFirst(failures: number, message: string) {
  let calls = 0;
  const step = async () => {
    calls += 1;
    if (calls <= failures) throw new Error(message);
    return 'done';
  };
  return { step, calls: () => calls };
}

describe('patiently', () => {
  it('waits out "stream not found" and "consumer not found" on a stream just ensured', async () => {
    for (const message of ['stream not found', 'consumer not found']) {
      const flaky = failingFirst(2, message);
      await expect(patiently(flaky.step, { alsoTransient: STREAM_SETTLING })).resolves.toBe('done');
      expect(flaky.calls()).toBe(3);
    }
  });

  it('fails at once on "stream not found" elsewhere, and on an answer that is no passing state', async () => {
    const notFound = failingFirst(1, 'stream not found');
    await expect(patiently(notFound.step)).rejects.toThrow('stream not found');
    expect(notFound.calls()).toBe(1);
    const refused = failingFirst(1, 'insufficient resources');
    await expect(patiently(refused.step, { alsoTransient: STREAM_SETTLING })).rejects.toThrow('insufficient resources');
    expect(refused.calls()).toBe(1);
  });

  it('waits out a timeout as before', async () => {
    const slow = failingFirst(1, 'TIMEOUT');
    await expect(patiently(slow.step)).resolves.toBe('done');
  });
});

describe('ensureStream', () => {
  /** An engine whose stream is unknown when asked, and whose creation answers `addAnswer`. */
  function engineCreating(addAnswer: () => Promise<unknown>) {
    const added: unknown[] = [];
    const engine = {
      replicas: 3,
      jsm: {
        streams: {
          info: async () => {
            throw new Error('stream not found');
          },
          add: async (config: unknown) => {
            added.push(config);
            return addAnswer();
          },
        },
      },
    } as unknown as ClusterEngine;
    return { engine, added };
  }

  it('creates a missing stream with the engine’s replicas', async () => {
    const { engine, added } = engineCreating(async () => ({}));
    await ensureStream(engine, { name: 'S' });
    expect(added).toEqual([{ name: 'S', num_replicas: 3 }]);
  });

  it('takes "already in use" as done: another process created it since the question', async () => {
    const { engine, added } = engineCreating(async () => {
      throw new Error('stream name already in use with a different configuration');
    });
    await expect(ensureStream(engine, { name: 'S' })).resolves.toBeUndefined();
    expect(added).toHaveLength(1);
  });

  it('still fails on a refusal of another kind', async () => {
    const { engine } = engineCreating(async () => {
      throw new Error('insufficient storage resources available');
    });
    await expect(ensureStream(engine, { name: 'S' })).rejects.toThrow('insufficient storage');
  });
});
