// Opening the clinical database: embedded SQLite (the default, one file under RPM_DATA_DIR) or
// PostgreSQL. Both speak through the same Kysely instance and the same repositories.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { checkpointOffTheEventLoop } from '../wal-checkpoints.js';
import { WalSync } from '../wal-sync.js';
import type { ClinicalDatabase } from './schema.js';

export type SqlDialectName = 'sqlite' | 'postgres';

export type ClinicalDatabaseLocation = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

export interface ClinicalConnection {
  db: Kysely<ClinicalDatabase>;
  /** For reads that must not wait behind writes: a second SQLite connection; PostgreSQL's pool is already concurrent. */
  reader: Kysely<ClinicalDatabase>;
  dialect: SqlDialectName;
  /**
   * A SQLite file's WAL, synced off the event loop: a writer that commits with synchronous=NORMAL
   * and waits for this sync is as durable as a FULL commit without the event loop waiting for the
   * disk (the audit log's group commits). Absent for PostgreSQL and in-memory databases.
   */
  walSync?: WalSync;
  close(): Promise<void>;
}

/** How long a writer waits for SQLite's lock before failing (another process, or a backup). */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;
const PG_INT8_OID = 20;

/** Prepared statements kept per SQL text: Kysely prepares every query, which costs more than running a small one. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * better-sqlite3 behind a statement cache, as Kysely's SqliteDialect sees it. Safe because every
 * statement runs to completion synchronously (this store never streams results with iterate()).
 */
function withStatementCache(database: SqliteDatabase.Database): SqliteDatabase.Database {
  const statements = new Map<string, SqliteDatabase.Statement>();
  const prepare = (source: string): SqliteDatabase.Statement => {
    const cached = statements.get(source);
    if (cached) return cached;
    const statement = database.prepare(source);
    if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
    statements.set(source, statement);
    return statement;
  };
  return new Proxy(database, {
    get: (target, property) => {
      if (property === 'prepare') return prepare;
      const value: unknown = Reflect.get(target, property, target);
      // Native methods must run on the real database object, not on the proxy.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function openSqlite(path: string): ClinicalConnection {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SqliteDatabase(path);
  database.pragma('journal_mode = WAL');
  // Alerts, assignments and the audit log must survive a power cut, not only a process crash.
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  const db = new Kysely<ClinicalDatabase>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  if (path === ':memory:') return { db, reader: db, dialect: 'sqlite', close: () => db.destroy() };
  // Kysely runs one query at a time per SQLite connection; a second, query-only connection lets
  // lookups read the last committed state while the writer is busy (WAL).
  const readDatabase = new SqliteDatabase(path);
  readDatabase.pragma('query_only = ON');
  readDatabase.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  const reader = new Kysely<ClinicalDatabase>({ dialect: new SqliteDialect({ database: withStatementCache(readDatabase) }) });
  const walSync = new WalSync(path);
  // The audit log commits on the event loop for every read the API answers (wal-checkpoints.ts).
  const checkpoints = checkpointOffTheEventLoop(database, path);
  return {
    db,
    reader,
    dialect: 'sqlite',
    walSync,
    close: async () => {
      await reader.destroy();
      checkpoints.release();
      await db.destroy();
      walSync.close();
    },
  };
}

function openPostgres(url: string): ClinicalConnection {
  const pool = new pg.Pool({
    connectionString: url,
    // Identity columns and count(*) are int8, which pg returns as strings; ours stay far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === PG_INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle pooled connection the server ends (a restart, a failover, an administrator's
  // pg_terminate_backend, a dropped database: error 57P01) is reported as an 'error' event on the
  // pool, which without a listener ends the process. The pool has already discarded that client
  // and the next query opens a new one; a query in flight fails on its own with the same error.
  pool.on('error', () => undefined);
  const db = new Kysely<ClinicalDatabase>({ dialect: new PostgresDialect({ pool }) });
  return { db, reader: db, dialect: 'postgres', close: () => db.destroy() };
}

export function openClinicalDatabase(location: ClinicalDatabaseLocation): ClinicalConnection {
  return location.dialect === 'sqlite' ? openSqlite(location.path) : openPostgres(location.url);
}
