// The engine in virtual time: TestScheduler drives both the readings and the tick stream.
import { describe, expect, it } from '@jest/globals';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { DEFAULT_RULES } from '../../../rules/default-rules.js';
import { rulesEngine, type PatientEvent } from '../../../rules/engine.js';
import type { AlertSignal, RuleReading } from '../../../rules/evaluate-patient.js';

const MIN = 60_000;

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

const bp = (readingId: string, atMs: number, systolic: number): RuleReading => ({
  deviceId: 'cuff',
  readingId,
  kind: 'blood_pressure',
  measuredAtMs: atMs,
  values: { systolic, diastolic: 90 },
  flags: {},
});

const configure = (patientId: string): PatientEvent => ({
  type: 'configure',
  patientId,
  configuration: { rules: DEFAULT_RULES, enrolledKinds: ['blood_pressure'], monitoredSinceMs: 0 },
});

describe('rules engine (virtual time)', () => {
  it('escalates an unconfirmed crisis reading when the retake window runs out, on the tick', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      // t=0 configure, t=1m a crisis reading; the retake window is 15 minutes; ticks every minute.
      const events = hot<PatientEvent>('a 59999ms b', { a: configure('p1'), b: { type: 'reading', patientId: 'p1', reading: bp('r1', MIN, 190), nowMs: MIN } });
      const signals = events.pipe(
        rulesEngine({ tickMs: MIN, scheduler: testScheduler }),
        map((s: AlertSignal) => `${s.type}:${s.ruleId}`),
      );
      expectObservable(signals, '^ 20m !').toBe('60000ms a 899999ms b', { a: 'confirmation_requested:bp-crisis', b: 'confirmed:bp-crisis' });
    });
  });

  it('keeps patients apart: a retake of one patient does not confirm another’s crisis', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      const events = hot<PatientEvent>('a b 1m c 1m d', {
        a: configure('p1'),
        b: configure('p2'),
        c: { type: 'reading', patientId: 'p1', reading: bp('r1', 0, 190), nowMs: 0 },
        d: { type: 'reading', patientId: 'p2', reading: bp('r2', MIN, 120), nowMs: MIN },
      });
      const signals = events.pipe(
        rulesEngine({ tickMs: MIN, scheduler: testScheduler }),
        map((s: AlertSignal) => `${s.type}:${s.patientId}`),
      );
      expectObservable(signals, '^ 3m !').toBe('-- 1m a', { a: 'confirmation_requested:p1' });
    });
  });

  it('raises missing data from the passage of time alone', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      const events = hot<PatientEvent>('a', { a: { type: 'configure', patientId: 'p1', configuration: { rules: DEFAULT_RULES, enrolledKinds: ['weight'], monitoredSinceMs: 0 } } });
      const signals = events.pipe(
        rulesEngine({ tickMs: 60 * MIN, scheduler: testScheduler }),
        map((s: AlertSignal) => `${s.type}:${s.ruleId}`),
      );
      // Ticks every hour; the 72nd tick (at 72 h) finds three days without a weight.
      expectObservable(signals, `^ ${80 * 60}m !`).toBe(`${72 * 60}m a`, { a: 'missing_data:missing-weight' });
    });
  });
});
