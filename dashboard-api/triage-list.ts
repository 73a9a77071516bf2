// The triage list (GET /v1/triage): every patient of the caller's care teams with an unresolved
// alert, worst first. Nurses on shift poll it, and it changes only when an alert or a patient's name
// does, so each set of care teams' list is rendered once per change and kept as the bytes sent: the
// database counts those changes itself (migration 0010), and one read of that counter tells whether
// the kept list is still the answer (issue #27; bench/api.ts measures it with alerts changing).
// A rendering after a change reads only what tells each unresolved alert's version, and reads,
// checks and renders again only the alerts that changed: an admin's list of 2,000 alerts took 35–50
// ms of the event loop to read and render whole, once per change, and every request behind it waited.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { ALERT_SEVERITIES, FreshReads, KeptVersions, type Alert, type ClinicalStore } from '../store/index.js';
import { alertView } from './schemas.js';

/** Worst first: the vocabulary lists the severities in that order. */
const SEVERITY_RANK: Readonly<Record<string, number>> = Object.fromEntries(ALERT_SEVERITIES.map((severity, rank) => [severity, rank]));
/** Lists kept (one per set of care teams asking): a list is tens of KB, an admin's of 10,000 patients a few MB. */
const MAX_KEPT = 256;
/**
 * Every this many renderings one is whole (the kept alerts dropped first): it lets go of alerts no
 * list shows any more, and bounds how long a change made beside the store's repository (a person
 * with a database client updating an alert without an event) can go unseen.
 */
const WHOLE_RENDERING_EVERY = 64;

const gzipAsync = promisify(gzip);
/** Lists shorter than this are sent as they are: their gzip header and checksum would be most of what compression saves. */
const GZIP_MIN_BYTES = 1024;
/** zlib's level 3: the list's repeated keys compress nearly as well as at the default 6, in about half the time. */
const GZIP_LEVEL = 3;
const NOT_COMPRESSED: Promise<undefined> = Promise.resolve(undefined);

/**
 * A list as kept: its JSON, and its gzip, compressed once on libuv's thread pool (undefined for a
 * short list, or if compression failed). An admin's list of 10,000 patients is 1.7 MB of JSON, which
 * a browser accepts gzipped at a tenth of that; compressing it per request would cost more than
 * rendering it. A client that takes gzip waits for the compression (a few milliseconds, once per
 * change) rather than being sent ten times the bytes: those answers were the admin's tail
 * (bench/api.ts); one that does not is sent the JSON at once.
 */
export interface TriageAnswer {
  json: Buffer;
  gzip: Promise<Buffer | undefined>;
}

/** An alert as rendered: its JSON in the contract's shape (checked once, when it changed), and what a row needs of it. */
interface RenderedAlert {
  version: string;
  json: string;
  alert: Alert;
}

export class TriageList {
  /** Counted one each, so at most MAX_KEPT lists are kept. */
  private readonly kept = new KeptVersions<TriageAnswer>(MAX_KEPT, () => 1);
  /** Unresolved alerts as rendered, by id, shared by every set of care teams. */
  private readonly alerts = new Map<string, RenderedAlert>();
  private renderings = 0;
  /** The change counter, read once for the requests that came while the last read ran. */
  private readonly counterReads = new FreshReads<number>();

  constructor(private readonly clinicalStore: ClinicalStore) {}

  /** The answer for these care teams (undefined: all of them, an admin's): its JSON as sent, and its gzip. */
  async answer(careTeamIds: readonly string[] | undefined): Promise<TriageAnswer> {
    const key = careTeamIds === undefined ? '*' : [...new Set(careTeamIds)].sort().join('\n');
    // Read before the rows (ChangeCounterRepository.version): the rows are at least this new. By a
    // read that starts after the request, shared by those that came while the last one ran.
    const version = await this.counterReads.read('triage', () => this.clinicalStore.changeCounters.version('triage'));
    // One rendering per change however many nurses ask at once: the others wait for it.
    return this.kept.get(key, version, async () => {
      const json = Buffer.from(await this.render(careTeamIds));
      // Not compressed (failed): the JSON is sent as it is.
      const compressed = json.length >= GZIP_MIN_BYTES ? gzipAsync(json, { level: GZIP_LEVEL }).catch(() => undefined) : NOT_COMPRESSED;
      return { json, gzip: compressed };
    });
  }

  private async render(careTeamIds: readonly string[] | undefined): Promise<string> {
    this.renderings += 1;
    if (this.renderings % WHOLE_RENDERING_EVERY === 0) this.alerts.clear();
    // Every unresolved alert: a triage list cut at some count would hide patients.
    const versions = await this.clinicalStore.alerts.unresolvedVersions(careTeamIds);
    const versionOf = new Map(versions.map(({ id, lastEventId, nextEscalationAt }) => [id, `${lastEventId} ${nextEscalationAt}`]));
    const changed = [...versionOf].filter(([id, version]) => this.alerts.get(id)?.version !== version).map(([id]) => id);
    for (const alert of await this.clinicalStore.alerts.getMany(changed)) {
      // Read after its version, so at least as new: a change in between is read again next time.
      this.alerts.set(alert.id, { version: versionOf.get(alert.id)!, json: JSON.stringify(alertView.parse(alert)), alert });
    }
    const byPatient = new Map<string, { name: string | null; birthDate: string | null; alerts: RenderedAlert[] }>();
    for (const { id, patientName, patientBirthDate } of versions) {
      const rendered = this.alerts.get(id);
      // Resolved since its version was read (or deleted): not on the list.
      if (!rendered || rendered.alert.status === 'resolved') continue;
      const patient = byPatient.get(rendered.alert.patientId);
      if (patient) patient.alerts.push(rendered);
      else byPatient.set(rendered.alert.patientId, { name: patientName, birthDate: patientBirthDate, alerts: [rendered] });
    }
    const rows = [...byPatient.entries()].map(([patientId, { name, birthDate, alerts }]) => {
      // The same order within a patient as the alert list (newest opened first).
      alerts.sort((a, b) => b.alert.openedAt.localeCompare(a.alert.openedAt) || b.alert.id.localeCompare(a.alert.id));
      const worst = alerts.reduce((a, b) => (SEVERITY_RANK[a.alert.severity]! <= SEVERITY_RANK[b.alert.severity]! ? a : b)).alert;
      const latest = alerts.reduce((a, b) => (a.alert.updatedAt >= b.alert.updatedAt ? a : b)).alert;
      return { patientId, name, birthDate, worst, lastActivityAt: latest.updatedAt, alerts };
    });
    // Ranked by the worst open severity, then by recency.
    rows.sort((a, b) => SEVERITY_RANK[a.worst.severity]! - SEVERITY_RANK[b.worst.severity]! || b.lastActivityAt.localeCompare(a.lastActivityAt));
    // The contract's row (schemas.ts triageRow), its keys in the schema's order, as zod's parse left them.
    const parts = rows.map(
      (row) =>
        `{"patientId":${JSON.stringify(row.patientId)},"name":${JSON.stringify(row.name)},"birthDate":${JSON.stringify(row.birthDate)},"careTeamId":${JSON.stringify(row.worst.careTeamId)},` +
        `"worstSeverity":${JSON.stringify(row.worst.severity)},"openAlerts":${row.alerts.length},"unacknowledged":${row.alerts.filter((a) => a.alert.status !== 'acknowledged').length},` +
        `"lastActivityAt":${JSON.stringify(row.lastActivityAt)},"alerts":[${row.alerts.map((a) => a.json).join(',')}]}`,
    );
    return `{"patients":[${parts.join(',')}]}`;
  }
}
