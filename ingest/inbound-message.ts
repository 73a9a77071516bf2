// A message as the broker hands it to ingest, and as the spool's inbox keeps it.
export interface InboundMessage {
  /** Unique per received message; dead letters of its readings are keyed on it. */
  messageId: string;
  topic: string;
  payload: Buffer;
  /** The authenticated device or gateway id (MQTT username, HTTP Basic user); null for an external broker or replay. */
  principal: string | null;
  receivedAt: string;
  /** `manual`: a reading a person entered for a patient (`POST /v1/patients/{id}/readings`); the principal is that person. */
  source: 'mqtt' | 'https' | 'replay' | 'manual';
}

export interface SpooledMessage extends InboundMessage {
  seq: number;
}
