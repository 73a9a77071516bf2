// A rules engine on an ingest harness, wired as the platform wires it (ingest hands accepted readings
// to its judge(); alerts and retake requests go out through the harness's broker), for tests that
// need alerts.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { receiptsTopic } from '../../ingest/index.js';
import { RulesService, type WebhookTargetPolicy } from '../../rules/index.js';
import type { Harness } from './ingest-harness.js';

export async function startRules(harness: Harness, options: { tickMs?: number; now?: () => number; registry?: Registry; webhookTargets?: WebhookTargetPolicy; publicUrl?: string } = {}): Promise<RulesService> {
  const rules = new RulesService(
    {
      clinicalStore: harness.clinicalStore,
      readingsStore: harness.readingsStore,
      publisher: harness.ingest.transport,
      retakes: { requestRetake: (deviceId, r) => void harness.ingest.transport.publish(receiptsTopic(deviceId), { readingId: r.readingId, status: 'accepted', request: 'retake', message: r.message }) },
      logger: pino({ level: process.env.RPM_TEST_LOG_LEVEL ?? 'silent' }),
      registry: options.registry ?? new Registry(),
      ...(options.webhookTargets ? { webhookTargets: options.webhookTargets } : {}),
      ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    },
    { tickMs: options.tickMs ?? 200, ...(options.now ? { now: options.now } : {}) },
  );
  await rules.start();
  harness.handover = rules;
  return rules;
}
