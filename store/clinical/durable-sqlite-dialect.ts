// Kysely over better-sqlite3 for the clinical database, with every commit made durable by an
// fdatasync of the WAL on libuv's thread pool (store/wal-sync.ts) instead of synchronous=FULL on
// the event loop. Alerts, assignments and audit records must survive a power cut, so a write is
// answered only once it is on disk, as before; but the event loop, which also acknowledges the
// devices' publishes, no longer stops for each fsync (milliseconds on a busy or networked disk),
// and the commits made while one fsync runs share the next.
//
// Kysely's own SQLite driver holds its one connection for the whole of each query; waiting there
// for the disk would queue every other query behind each fsync. Here a statement runs to completion
// synchronously when it is called (better-sqlite3), so queries need no lock among themselves: only
// an open transaction keeps other queries out until it ends.
import type { Database } from 'better-sqlite3';
import { SqliteDialect, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';
import { WalSync } from '../wal-sync.js';

class StatementRunner implements DatabaseConnection {
  constructor(private readonly driver: DurableSqliteDriver) {}

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.run<R>(this, compiledQuery);
  }

  // eslint-disable-next-line require-yield -- the clinical store never streams (see connect.ts)
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the clinical SQLite store does not stream query results');
  }
}

interface OpenTransaction {
  owner: StatementRunner;
  ended: Promise<void>;
  end: () => void;
}

class DurableSqliteDriver implements Driver {
  private transaction: OpenTransaction | undefined;

  constructor(
    private readonly database: Database,
    private readonly walSync: WalSync,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new StatementRunner(this);
  }

  async releaseConnection(): Promise<void> {}

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    while (this.transaction) await this.transaction.ended;
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    this.transaction = { owner: connection as StatementRunner, ended, end };
    try {
      this.database.exec('BEGIN');
    } catch (error) {
      this.endTransaction();
      throw error;
    }
  }

  async commitTransaction(): Promise<void> {
    // A failed COMMIT leaves the transaction open: Kysely rolls it back next.
    this.database.exec('COMMIT');
    this.endTransaction();
    await this.durable();
  }

  async rollbackTransaction(): Promise<void> {
    try {
      if (this.database.inTransaction) this.database.exec('ROLLBACK');
    } finally {
      this.endTransaction();
    }
  }

  async savepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.database.exec(`SAVEPOINT "${name}"`);
  }

  async rollbackToSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.database.exec(`ROLLBACK TO SAVEPOINT "${name}"`);
  }

  async releaseSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.database.exec(`RELEASE SAVEPOINT "${name}"`);
  }

  async destroy(): Promise<void> {
    this.walSync.close();
    this.database.close();
  }

  async run<R>(connection: StatementRunner, query: CompiledQuery): Promise<QueryResult<R>> {
    while (this.transaction && this.transaction.owner !== connection) await this.transaction.ended;
    const statement = this.database.prepare(query.sql);
    let result: QueryResult<R>;
    if (statement.reader) {
      result = { rows: statement.all(query.parameters) as R[] };
    } else {
      const { changes, lastInsertRowid } = statement.run(query.parameters);
      result = { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
    }
    // A write (an INSERT … RETURNING is a reader that writes) outside a transaction committed on
    // its own: answered once durable. Inside a transaction, COMMIT waits instead.
    if (!statement.readonly && !this.database.inTransaction) await this.durable();
    return result;
  }

  private endTransaction(): void {
    const transaction = this.transaction;
    this.transaction = undefined;
    transaction?.end();
  }

  /** A database in WAL mode has its WAL file from its first write on: there is always one to sync. */
  private durable(): Promise<void> {
    return this.walSync.durable();
  }
}

/**
 * The dialect for a file database in WAL mode with synchronous=NORMAL: every write is answered
 * after the fdatasync that makes it durable.
 */
export class DurableSqliteDialect extends SqliteDialect {
  private readonly walSync: WalSync;

  constructor(
    private readonly sqlite: Database,
    path: string,
  ) {
    super({ database: sqlite });
    this.walSync = new WalSync(path);
  }

  override createDriver(): Driver {
    return new DurableSqliteDriver(this.sqlite, this.walSync);
  }
}
