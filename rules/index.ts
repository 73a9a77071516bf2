// Public surface of the rules module.
export { AlertManager, RULES_ACTOR, type RetakeRequester } from './alert-manager.js';
export { DEFAULT_RULES } from './default-rules.js';
export { DEFAULT_TICK_MS, rulesEngine, type EngineOptions, type PatientEvent } from './engine.js';
export { AUDIENCES, DEFAULT_TIERS, effectivePolicy, escalationPolicy, type Audience, type EscalationPolicy } from './escalation-policy.js';
export { emptyPatientState, stepPatient, toRuleReading, type AlertSignal, type PatientConfiguration, type RuleReading, type RulesEvent } from './evaluate-patient.js';
export { WebhookTargetPolicy, isPublicAddress, sendThrough, type OutboundRequest, type OutboundResponse } from './webhook-target.js';
export { AlertNotifier, MAX_DELIVERY_ATTEMPTS, SIGNATURE_HEADER, WEBHOOK_DELIVERY_FAILED, SIGNATURE_TOLERANCE_SECONDS, WEBHOOK_EVENTS, acknowledgeUrl, alertDeliveries, signWebhook, verifyWebhookSignature, type AlertChange, type AlertEventName, type AlertPublisher } from './notifications.js';
export { flattenUnionIssues, patientOverrides, resolveRules, ruleDefinition, ruleSet, type PatientOverrides, type RuleDefinition } from './rule-definitions.js';
export { RulesService, type RulesServiceOptions } from './service.js';
export { RULES_PARTITIONS, RulesFeed, acceptedTopic, forwardToRules, partitionOf, type RulesHandover } from './handover.js';
export { polledAlertFeed } from './polled-alert-feed.js';
export { DueWorkLoop } from './due-work-loop.js';
export { ACCEPTED_STREAM, JetStreamHandover, JetStreamRulesFeed, ensureAcceptedStream } from './jetstream-handover.js';
export { LEASE_DEFAULTS, PartitionLeases, type PartitionLeaseOptions } from './partition-leases.js';
export { CheckInScheduler } from './check-in-scheduler.js';
export { PLATFORM_SENDER, PatientMessenger } from './patient-messenger.js';
export { CHECK_IN_SOURCE, RULE_KINDS, checkInRuleReading, type RuleKind } from './rule-reading.js';
export { PatientGatewayNotifier } from './patient-gateway-notifier.js';
