// Why ingest refuses input: stable codes, stored with every dead letter and sent in receipts; the
// status is what an HTTP path answers them with.
import { defineErrors } from '../device-profiles/index.js';

export const INGEST_ERRORS = defineErrors('ingest', {
  NOT_UTF8: { status: 400, meaning: 'the payload is not UTF-8 text' },
  NOT_JSON: { status: 400, meaning: 'the payload is not JSON' },
  TOO_DEEP: { status: 400, meaning: 'JSON nested more than 32 deep, refused before anything recursive reads it' },
  EVALUATION_FAILED: { status: 500, meaning: 'an unforeseen failure while evaluating this reading: it is dead-lettered with the error, and the messages behind it go on' },
  BAD_BATCH: { status: 400, meaning: 'a batch that is not `{"readings":[…]}`' },
  DEVICE_MISMATCH: { status: 403, meaning: 'the reading’s `deviceId` is not the topic’s, or not one the credential may send for' },
  UNKNOWN_DEVICE: { status: 404, meaning: 'no device was provisioned with this id' },
  RETIRED_DEVICE: { status: 403, meaning: 'the device was retired' },
  KIND_MISMATCH: { status: 400, meaning: 'a reading of another kind than the device measures' },
  UNASSIGNED_DEVICE: { status: 409, meaning: 'the device had no patient at `measuredAt`: the reading is held (`GET /v1/unassigned-readings`) until the device is assigned with `replay`' },
  CLOCK_UNSET: { status: 400, meaning: '`measuredAt` before 2 January 2000: the device’s clock was never set' },
  FUTURE_TIMESTAMP: { status: 400, meaning: '`measuredAt` more than 5 minutes ahead of the platform’s clock' },
  NOT_A_READINGS_TOPIC: { status: 400, meaning: 'a publish to a topic other than `rpm/v1/devices/{deviceId}/readings`' },
  BACKLOG_FULL: { status: 503, meaning: 'the ingest backlog is full: the device keeps its readings and sends them later (over MQTT the publish is refused; over HTTPS a `503` with `Retry-After`)' },
  SPOOL_BEHIND: { status: null, meaning: 'the spool holds fewer messages than it acknowledged: start-up stops naming the file and what to do' },
  SPOOL_DAMAGED: { status: null, meaning: 'the spool file is damaged: start-up stops naming the file and what to do' },
});
