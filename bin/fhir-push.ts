// Wiring of the push to EHRs into the processes that judge readings (the embedded platform, the rules
// role): readings are queued after the rules have judged them, on the same hand-over, and a sender
// loop beside the alert notifier delivers them, and the teams' CGM summaries on their schedules.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DeviceProfiles, StoredReading } from '../device-profiles/index.js';
import { FhirPushQueue, FhirPushSender, type PushRetry } from '../fhir/index.js';
import type { RulesService, WebhookTargetPolicy } from '../rules/index.js';
import type { ClinicalStore, ReadingsStore } from '../store/index.js';

export interface FhirPush {
  /** The hand-over: the rules judge the readings (alerts first), then they are queued for EHRs. */
  handOver(readings: readonly StoredReading[]): Promise<void>;
  stop(): Promise<void>;
}

export function startFhirPush(rules: Pick<RulesService, 'judge'>, dependencies: { clinicalStore: ClinicalStore; readingsStore: Pick<ReadingsStore, 'series' | 'query'>; deviceProfiles: DeviceProfiles; targets: WebhookTargetPolicy; logger: Logger; registry: Registry; retry?: PushRetry; cgmGraceMs?: number }): FhirPush & { sender: FhirPushSender } {
  const queue = new FhirPushQueue(dependencies.clinicalStore);
  const sender = new FhirPushSender(dependencies);
  sender.start();
  return {
    async handOver(readings) {
      await rules.judge(readings);
      // Kicked only for new deliveries: a kick is a claim of due work (a write) and the CGM planner's
      // look, and once per hand-over those were most of ingest's database queries with no EHR
      // connected at all (a CPU profile of HTTPS single readings). What is due otherwise (a retry's
      // time, a CGM submission) is found by the sender's once-a-second round.
      if ((await queue.enqueue(readings)) > 0) sender.kick();
    },
    stop: () => sender.stop(),
    sender,
  };
}
