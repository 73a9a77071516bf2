// The InfluxDB readings store's writer thread: parses the batches the store posts, renders their
// line protocol and sends it, with a store of its own, so that none of it runs on ingest's event loop.
import { workerData } from 'node:worker_threads';
import { InfluxReadingsStore, type InfluxReadingsStoreOptions } from './influx-readings-store.js';
import { parseSerialized } from './readings-store.js';
import { serveReadingsWrites } from './writer-thread.js';

const store = new InfluxReadingsStore({ ...(workerData as InfluxReadingsStoreOptions), writerThread: false });
// The day marks go back to the store on ingest's thread, which keeps them in the clinical database.
serveReadingsWrites((batches) => store.writeMarked(batches.flatMap(parseSerialized)));
