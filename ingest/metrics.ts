// Ingest metrics, registered on the registry the API exposes at /metrics (Prometheus text format).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class IngestMetrics {
  readonly messagesReceived: Counter;
  readonly readings: Counter<'status'>;
  readonly rejected: Counter<'code'>;
  readonly spoolBacklog: Gauge;
  readonly storeWriteSeconds: Histogram;
  readonly storeWriteFailures: Counter;
  readonly connectedClients: Gauge;
  readonly refusedConnections: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.messagesReceived = new Counter({ name: 'rpm_ingest_messages_received_total', help: 'MQTT messages received on readings topics and acknowledged', registers });
    this.readings = new Counter({ name: 'rpm_ingest_readings_total', help: 'Readings evaluated, by outcome', labelNames: ['status'], registers });
    this.rejected = new Counter({ name: 'rpm_ingest_rejected_total', help: 'Rejected readings, by reason code', labelNames: ['code'], registers });
    this.spoolBacklog = new Gauge({ name: 'rpm_ingest_spool_backlog', help: 'Messages and readings in the durable spool, not yet in the readings store', registers });
    this.storeWriteSeconds = new Histogram({
      name: 'rpm_ingest_store_write_seconds',
      help: 'Latency of one batch write to the readings store',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.storeWriteFailures = new Counter({ name: 'rpm_ingest_store_write_failures_total', help: 'Failed batch writes to the readings store (retried)', registers });
    this.connectedClients = new Gauge({ name: 'rpm_mqtt_connected_clients', help: 'Authenticated MQTT clients connected to the embedded broker', registers });
    this.refusedConnections = new Counter({ name: 'rpm_mqtt_refused_total', help: 'MQTT connections, publishes and subscriptions refused, by reason', labelNames: ['reason'], registers });
  }
}
