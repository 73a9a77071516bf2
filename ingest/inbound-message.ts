// A message as the broker hands it to ingest, and as the spool's inbox keeps it.
export interface InboundMessage {
  /** Unique per received message; dead letters of its readings are keyed on it. */
  messageId: string;
  topic: string;
  payload: Buffer;
  /** The authenticated device or gateway id (MQTT username, HTTP Basic user); null for an external broker or replay. */
  principal: string | null;
  receivedAt: string;
  source: 'mqtt' | 'https' | 'replay';
}

export interface SpooledMessage extends InboundMessage {
  seq: number;
}
