// The MQTT topics of the v1 contract (ARCHITECTURE.md, "MQTT contract").
const DEVICE_TOPIC = /^rpm\/v1\/devices\/([^/+#]+)\/(readings|receipts)$/;
const GATEWAY_STATUS_TOPIC = /^rpm\/v1\/gateways\/([^/+#]+)\/status$/;
/** Readings a person entered for a patient: a topic of the inbox only, never of a broker (no device may publish it). */
const REPORTED_TOPIC = /^rpm\/v1\/patients\/([^/+#]+)\/reported$/;

export const SHARED_READINGS_SUBSCRIPTION = '$share/rpm-ingest/rpm/v1/devices/+/readings';

export const readingsTopic = (deviceId: string) => `rpm/v1/devices/${deviceId}/readings`;
export const receiptsTopic = (deviceId: string) => `rpm/v1/devices/${deviceId}/receipts`;
export const gatewayStatusTopic = (gatewayId: string) => `rpm/v1/gateways/${gatewayId}/status`;
export const reportedTopic = (patientId: string) => `rpm/v1/patients/${patientId}/reported`;
export const alertsTopic = (careTeamId: string) => `rpm/v1/alerts/${careTeamId}`;

export type ParsedTopic =
  | { type: 'readings' | 'receipts'; deviceId: string }
  | { type: 'gateway_status'; gatewayId: string }
  | { type: 'reported'; patientId: string };

export function parseTopic(topic: string): ParsedTopic | undefined {
  const device = DEVICE_TOPIC.exec(topic);
  if (device) return { type: device[2] as 'readings' | 'receipts', deviceId: device[1]! };
  const gateway = GATEWAY_STATUS_TOPIC.exec(topic);
  if (gateway) return { type: 'gateway_status', gatewayId: gateway[1]! };
  const reported = REPORTED_TOPIC.exec(topic);
  if (reported) return { type: 'reported', patientId: reported[1]! };
  return undefined;
}
