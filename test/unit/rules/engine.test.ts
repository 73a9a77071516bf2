// The engine in virtual time: TestScheduler drives both the readings and the tick stream.
import { describe, expect, it } from '@jest/globals';
import { TestScheduler } from 'rxjs/testing';
import { filter, map } from 'rxjs';
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

  it('hysteresis: SpO2 alternating 89/91 every 5 minutes for two hours is one episode, re-armed only at 92', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      const spo2 = (i: number, value: number): PatientEvent => ({ type: 'reading', patientId: 'p1', reading: { deviceId: 'oximeter', readingId: `s${i}`, kind: 'spo2', measuredAtMs: i * 5 * MIN, values: { value }, flags: {} }, nowMs: i * 5 * MIN });
      const values: Record<string, PatientEvent> = { X: { type: 'configure', patientId: 'p1', configuration: { rules: DEFAULT_RULES, enrolledKinds: ['spo2'], monitoredSinceMs: 0 } } };
      // 24 readings 5 minutes apart (89, 91, 89, …), then 92 at 120 min and 89 at 125 min.
      let marble = 'X';
      for (let i = 0; i < 26; i += 1) {
        const key = String.fromCharCode(97 + i);
        values[key] = spo2(i, i < 24 ? (i % 2 === 0 ? 89 : 91) : i === 24 ? 92 : 89);
        marble += i === 0 ? ` ${key}` : ` ${5 * MIN - 1}ms ${key}`;
      }
      const starts = hot<PatientEvent>(marble, values).pipe(
        rulesEngine({ tickMs: 60 * MIN, scheduler: testScheduler }),
        filter((s: AlertSignal) => s.type === 'abnormal' && s.episode === 'start'),
        map((s: AlertSignal) => s.ruleId),
      );
      // One start at the first reading (frame 1), the next only after the clear level: at 125 minutes.
      expectObservable(starts, '^ 180m !').toBe(`- a ${125 * MIN - 1}ms b`, { a: 'spo2-low', b: 'spo2-low' });
    });
  });

  it('re-weigh: a single weight jump asks at once, and no re-weigh within 30 minutes confirms it on the tick', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      const DAY = 24 * 60 * MIN;
      const weight = (id: string, atMs: number, kg: number): PatientEvent => ({ type: 'reading', patientId: 'p1', reading: { deviceId: 'scale', readingId: id, kind: 'weight', measuredAtMs: atMs, values: { value: kg }, flags: {} }, nowMs: atMs });
      // The history comes in as a restore (three days of 80 kg before virtual time 0); the jump at 1 minute.
      const events = hot<PatientEvent>('a 59999ms b', {
        a: {
          type: 'restore',
          patientId: 'p1',
          configuration: { rules: DEFAULT_RULES, enrolledKinds: ['weight'], monitoredSinceMs: -3 * DAY },
          readings: [weight('w1', -3 * DAY + MIN, 80), weight('w2', -2 * DAY + MIN, 80), weight('w3', -DAY + MIN, 80)].map((e) => (e as Extract<PatientEvent, { type: 'reading' }>).reading),
          openRuleIds: [],
          awaitingConfirmation: [],
        },
        b: weight('w4', MIN, 82),
      });
      const signals = events.pipe(
        rulesEngine({ tickMs: MIN, scheduler: testScheduler }),
        map((s: AlertSignal) => `${s.type}:${s.ruleId}`),
      );
      expectObservable(signals, '^ 40m !').toBe(`${MIN}ms a ${30 * MIN - 1}ms b`, { a: 'confirmation_requested:weight-gain-24h', b: 'confirmed:weight-gain-24h' });
    });
  });
});
