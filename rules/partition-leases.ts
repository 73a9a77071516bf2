// Rules partitions owned by leases in a replicated key-value bucket (NATS JetStream KV), so that
// they move by themselves: a rules process claims a free partition with a create (which fails
// when another holds it), renews it with an update that names the revision it holds (which fails
// when anyone else wrote since), and the bucket's TTL ends a lease that was not renewed. A process
// that was killed loses its partitions one TTL after its last renewal; the others claim them.
//
// Fencing: a process counts a partition as its own only until the time it sent its last
// successful claim or renewal, plus the TTL, minus a margin: the bucket cannot have expired the
// lease before that, so no other process can hold it meanwhile. A process frozen (SIGSTOP, a long
// pause) wakes with that time passed and acts on nothing of the partition, before any of its
// timers learn that the lease is gone. The claim's revision is the partition's fencing token.
import type { Logger } from 'pino';
import type { KV } from '@nats-io/kv';
import { Gauge, type Registry } from 'prom-client';
import { RULES_PARTITIONS } from './handover.js';

export interface PartitionLeaseOptions {
  /** This process, unique among the rules processes (host and pid, or a configured name). */
  ownerId: string;
  /** How long a lease lives without renewal: the bucket's TTL. */
  leaseMs: number;
  /** How often leases are renewed and free partitions claimed. */
  renewMs: number;
  /** Taken off the lease's end for clock drift between this process and the bucket's nodes. */
  marginMs: number;
  logger: Logger;
  registry: Registry;
  /** Called once a partition is this process's, with its fencing token; its work starts then. */
  onAcquired(partition: number, token: number): Promise<void>;
  /** Called once a partition is no longer this process's (lost, expired or released). */
  onLost(partition: number): void;
  now?: () => number;
}

interface Held {
  /** The revision of the claim: the fencing token, the same through every renewal of this tenure. */
  token: number;
  revision: number;
  /** Until when this process may act on the partition (see the fencing note above). */
  validUntil: number;
}

export const LEASE_DEFAULTS = { leaseMs: 15_000, renewMs: 3_000, marginMs: 2_000 } as const;

const keyOf = (partition: number) => `p${partition}`;
/** The key changed since the revision named (renewal), or exists (claim): another process holds it. */
const isConflict = (error: unknown) => /wrong last sequence|key exists/i.test((error as Error).message);

export class PartitionLeases {
  private readonly held = new Map<number, Held>();
  /** Claims whose answer did not come, with when each was sent: the engine may have stored them. */
  private readonly unansweredClaims = new Map<number, number>();
  /** Partitions acquired whose work is still starting (onAcquired under way). */
  private readonly starting = new Map<number, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private balancing: Promise<void> | undefined;
  /** The rules processes alive at the last count: kept while the engine cannot list them (see balance). */
  private memberCount = 1;
  private stopped = false;
  private readonly now: () => number;

  /**
   * `leases`: one key per partition, its value the owner. `members`: one key per live rules
   * process, renewed with the leases, so that each claims only its fair share (partitions /
   * processes, rounded up) and a process that joins gets partitions from the others.
   */
  constructor(
    private readonly leases: KV,
    private readonly members: KV,
    private readonly options: PartitionLeaseOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    const owned = () => this.owned().length;
    new Gauge({
      name: 'rpm_rules_partitions_held',
      help: 'Rules partitions this process holds a valid lease for (and acts on)',
      registers: [options.registry],
      collect() {
        this.set(owned());
      },
    });
  }

  owns(partition: number): boolean {
    const held = this.held.get(partition);
    return held !== undefined && held.validUntil > this.now();
  }

  /** The fencing token of the partition's present tenure, while this process may act on it. */
  token(partition: number): number | undefined {
    return this.owns(partition) ? this.held.get(partition)!.token : undefined;
  }

  /** The partitions this process may act on now. */
  owned(): number[] {
    return [...this.held.keys()].filter((p) => this.owns(p)).sort((a, b) => a - b);
  }

  /** Claims the first partitions and resolves once their work has started (or failed to). */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.tick(), this.options.renewMs);
    await this.tick();
    await this.started();
  }

  /** Resolves once every partition acquired so far has started its work (or given it back). */
  async started(): Promise<void> {
    while (this.starting.size > 0) await Promise.all(this.starting.values());
  }

  /**
   * One round: drop what expired and renew the rest; then give back more than the fair share and
   * claim up to it. The two go on independently: renewals go out every period even while the
   * other part still waits for the engine (counting members, listing leases, claiming), which can
   * take several request time-outs when a node is away; chained behind it, renewals once came
   * 6 s apart during a frozen node and a lease (13 s of validity) had little room left.
   */
  tick(): Promise<void> {
    const renewing = (this.renewing ??= this.renewAll().finally(() => (this.renewing = undefined)));
    this.balancing ??= renewing
      .then(() => this.balance())
      .catch((error: Error) => this.options.logger.warn({ err: error.message }, 'rules: could not renew or claim partitions; retrying'))
      .finally(() => (this.balancing = undefined));
    return Promise.all([renewing, this.balancing]).then(() => undefined);
  }

  private lose(partition: number, why: string): void {
    if (!this.held.delete(partition)) return;
    this.options.logger.warn({ partition, why }, 'rules: partition lost');
    this.options.onLost(partition);
  }

  private async renewAll(): Promise<void> {
    // First what ran out on this process's own clock (it was frozen, or cut off): given up before
    // anything is asked of the engine, which may not answer.
    for (const [partition, held] of [...this.held]) if (held.validUntil <= this.now()) this.lose(partition, 'the lease ran out before it could be renewed');
    // All at once: one slow answer (the engine electing a new leader) must not hold up the others.
    await Promise.all([...this.held].map(([partition, held]) => this.renew(partition, held)));
  }

  private async balance(): Promise<void> {
    const { ownerId } = this.options;
    if (this.stopped) return;
    // Who else is there, and which partitions are free, come from listing the buckets, which a
    // NATS cluster answers only while its meta leader is in place (a listing is a consumer, and
    // the meta leader creates consumers). Without it, the last count stands and free partitions
    // are claimed without a listing (a create fails on a held one): a partition given back just
    // before a node froze once stayed without an owner for the node's whole outage.
    const registered = this.members.put(ownerId, ownerId);
    this.memberCount = await registered.then(() => this.count(this.members)).then((count) => Math.max(1, count), () => this.memberCount);
    if (this.stopped) return;
    const fairShare = Math.ceil(RULES_PARTITIONS / this.memberCount);
    // More than the fair share: a process joined. Give back the highest partitions, stopping work first.
    for (const partition of this.owned().slice(fairShare).reverse()) await this.release(partition);
    if (this.owned().length >= fairShare) return;
    const taken = await this.keys(this.leases).then((keys) => new Set(keys), () => undefined);
    for (let partition = 0; partition < RULES_PARTITIONS && this.owned().length < fairShare && !this.stopped; partition += 1) {
      if (this.held.has(partition)) continue;
      // A claim of an earlier round whose answer did not come may have been stored: the lease is
      // then this process's since that claim was sent, and no one else can claim it until it runs
      // out (it stayed without an owner until then).
      const unanswered = this.unansweredClaims.get(partition);
      this.unansweredClaims.delete(partition);
      let claimedAt = unanswered ?? this.now();
      let revision = unanswered !== undefined && unanswered + this.options.leaseMs - this.options.marginMs > this.now() ? (await this.ownRevision(partition)) ?? undefined : undefined;
      if (revision === undefined) {
        if (taken?.has(keyOf(partition))) continue;
        claimedAt = this.now();
        try {
          revision = await this.leases.create(keyOf(partition), ownerId);
        } catch (error) {
          if (isConflict(error)) continue; // claimed by another process meanwhile
          this.unansweredClaims.set(partition, claimedAt);
          throw error; // the engine did not answer: the next round looks again
        }
      }
      this.held.set(partition, { token: revision, revision, validUntil: claimedAt + this.options.leaseMs - this.options.marginMs });
      this.options.logger.info({ partition, token: revision }, 'rules: partition acquired');
      // Not awaited: rebuilding a partition's patients can take longer than a lease lives, and the
      // leases already held are renewed meanwhile by the next rounds.
      const start: Promise<void> = this.options
        .onAcquired(partition, revision)
        .then(
          // Lost while it started (and not claimed again since): what the start set up is undone.
          () => void (this.held.has(partition) || this.options.onLost(partition)),
          async (error: Error) => {
            this.options.logger.error({ partition, err: error.message }, 'rules: could not start on an acquired partition; giving it back');
            // Only this tenure: the partition may have been lost and claimed afresh meanwhile.
            if (this.held.get(partition)?.token === revision) await this.release(partition);
          },
        )
        .finally(() => this.starting.get(partition) === start && this.starting.delete(partition));
      this.starting.set(partition, start);
    }
    // A registration that failed is told: the others did not count this process this round.
    await registered;
  }

  private async renew(partition: number, held: Held): Promise<void> {
    const renewedAt = this.now();
    try {
      held.revision = await this.leases.update(keyOf(partition), this.options.ownerId, held.revision);
      held.validUntil = renewedAt + this.options.leaseMs - this.options.marginMs;
    } catch (error) {
      // A wrong revision: someone else holds it (this process was away longer than the lease), or
      // an earlier renewal of this process was stored but its answer did not come in time.
      if (isConflict(error) && !(await this.stillMine(partition, held))) this.lose(partition, 'another process holds it');
      else if (held.validUntil <= this.now()) this.lose(partition, 'the lease ran out before it could be renewed');
    }
  }

  /**
   * The lease's revision if its latest value is this process's own, null if it is not, undefined
   * when the engine did not answer. Only this process writes its id, and only over the revision it
   * holds, so its id there means no one else wrote since.
   */
  private async ownRevision(partition: number): Promise<number | null | undefined> {
    try {
      const entry = await this.leases.get(keyOf(partition));
      return entry?.operation === 'PUT' && entry.string() === this.options.ownerId ? entry.revision : null;
    } catch {
      return undefined;
    }
  }

  /**
   * Whether the lease is still this process's after a refused renewal: one that timed out here while
   * the engine stored it moved the revision on, and the next renewal, naming the old one, was
   * refused; the partition was given up although no one else held it, and stayed without an owner
   * until its lease ran out (a loaded CI host lost eight partitions at once, most likely so). The
   * revision is taken; the validity is not extended (when that write was stored is not known) until
   * a renewal is answered. Not known (the engine did not answer): the lease's own time decides.
   */
  private async stillMine(partition: number, held: Held): Promise<boolean> {
    const revision = await this.ownRevision(partition);
    if (revision === null) return false;
    if (revision !== undefined) held.revision = revision;
    return true;
  }

  private async keys(kv: KV): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    return keys;
  }

  /**
   * Distinct keys: a listing also delivers what is written while it runs, so a process renewing its
   * membership meanwhile was counted twice, and the others gave back partitions (a third of their
   * share, each without an owner until claimed again a round later; seen twice in one fault-suite run).
   */
  private async count(kv: KV): Promise<number> {
    return new Set(await this.keys(kv)).size;
  }

  /** Stops work on the partition, then deletes its lease so another process can claim it at once. */
  private async release(partition: number): Promise<void> {
    const held = this.held.get(partition);
    if (!held) return;
    this.lose(partition, 'released');
    await this.leases.delete(keyOf(partition), { previousSeq: held.revision }).catch(() => undefined);
  }

  /** Gives every partition back (a graceful stop): the others take them over within one renewal. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all([this.renewing, this.balancing]);
    for (const partition of [...this.held.keys()]) await this.release(partition);
    await this.members.delete(this.options.ownerId).catch(() => undefined);
  }
}
