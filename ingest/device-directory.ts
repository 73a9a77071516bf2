// The device registry as ingest sees it, cached: every reading needs its device and the patient
// the device was assigned to at measuredAt, and asking the database twice per reading was the
// pipeline's largest cost (statement preparation, measured with --cpu-prof).
//
// Correctness over speed: a stale assignment would attribute a reading to the wrong patient. A
// change made through this process's clinical store drops the entry at once; the time limit bounds
// staleness for changes made by another process (the API running as its own role).
import { instantAt, type ClinicalStore, type Device, type DeviceAssignment } from '../store/index.js';
import type { DeviceDirectory } from './evaluate.js';

/** Changes made by another process are seen within this time. */
export const DEVICE_CACHE_TTL_MS = 5_000;
const MAX_ENTRIES = 50_000;

interface Entry {
  loadedAtMs: number;
  device: Device | undefined;
  assignments: DeviceAssignment[];
}

export class CachedDeviceDirectory implements DeviceDirectory {
  private readonly entries = new Map<string, Promise<Entry>>();
  /** The entries of `entries` that have loaded, for answers without waiting (`peek`). */
  private readonly loaded = new Map<string, Entry>();
  private readonly onChanged = (deviceId: string) => {
    this.entries.delete(deviceId);
    this.loaded.delete(deviceId);
  };

  constructor(
    private readonly clinicalStore: ClinicalStore,
    private readonly ttlMs: number = DEVICE_CACHE_TTL_MS,
  ) {
    clinicalStore.devices.changes.on('changed', this.onChanged);
  }

  private entry(deviceId: string): Promise<Entry> {
    const cached = this.entries.get(deviceId);
    if (cached) return cached.then((entry) => (Date.now() - entry.loadedAtMs < this.ttlMs ? entry : this.load(deviceId)));
    return this.load(deviceId);
  }

  private load(deviceId: string): Promise<Entry> {
    if (this.entries.size >= MAX_ENTRIES) {
      this.entries.clear();
      this.loaded.clear();
    }
    this.loaded.delete(deviceId);
    const loading = (async (): Promise<Entry> => ({
      loadedAtMs: Date.now(),
      device: await this.clinicalStore.devices.get(deviceId),
      assignments: await this.clinicalStore.devices.assignmentHistory(deviceId),
    }))();
    this.entries.set(deviceId, loading);
    loading.then(
      // Only if it is still the current load: a change meanwhile dropped it, and a newer load replaced it.
      (entry) => this.entries.get(deviceId) === loading && this.loaded.set(deviceId, entry),
      () => this.entries.delete(deviceId),
    );
    return loading;
  }

  peek(deviceId: string): { device: Device | undefined; patientAt(measuredAt: string): string | undefined } | undefined {
    const entry = this.loaded.get(deviceId);
    if (!entry || Date.now() - entry.loadedAtMs >= this.ttlMs) return undefined;
    return { device: entry.device, patientAt: (measuredAt) => patientIn(entry.assignments, measuredAt) };
  }

  async device(id: string): Promise<Device | undefined> {
    return (await this.entry(id)).device;
  }

  async patientAt(deviceId: string, measuredAt: string): Promise<string | undefined> {
    return patientIn((await this.entry(deviceId)).assignments, measuredAt);
  }

  close(): void {
    this.clinicalStore.devices.changes.off('changed', this.onChanged);
    this.entries.clear();
    this.loaded.clear();
  }
}

/** The patient the device was assigned to at that instant, from its assignment history. */
function patientIn(assignments: readonly DeviceAssignment[], measuredAt: string): string | undefined {
  const at = instantAt(measuredAt, Date.parse(measuredAt));
  return assignments.find((a) => a.assignedFrom <= at && (a.assignedUntil === null || a.assignedUntil > at))?.patientId;
}
