/**
 * The health scheduler: refreshes OAuth tokens ahead of expiry and runs connectors' verify actions
 * on their schedule, in the background, on every instance at once without doing anything twice.
 *
 * A tick is one statement: claim up to `healthCheckBatch` connections whose `next_check_at` has
 * passed (an indexed range, never a scan) by moving it a lease ahead, in the same conditional
 * UPDATE. Two instances claiming at once cannot both win a row: the database re-checks
 * `next_check_at <= now` on the row it locks. An instance that dies mid-check leaves the lease to
 * run out, and another picks the connection up. Outcomes are written by health-record.ts (which
 * also emits the webhook events); refreshes go through the broker's single-flight refresh.
 */
import type { AppContext } from '../context.js';
import type { Credentials } from '../connectors/auth-methods.js';
import type { Connector } from '../connectors/catalog.js';
import { callUpstream } from '../connectors/upstream.js';
import { HttpError } from '../http/errors.js';
import type { ConnectionsTable } from '../store/schema.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import type { CredentialBroker } from './broker.js';
import { nextCheckAt, RECOVERABLE_REASONS, refreshDueAt, verifyDueAt, type HealthReason } from './health.js';
import { recordRefreshFailed, recordVerified, type VerifyOutcome } from './health-record.js';
import { decryptCredentials } from './credentials.js';

/** How long a claim holds a connection: longer than any check takes (refresh and verify each time out sooner). */
const CLAIM_MS = 5 * 60_000;
/** Checks run this many at a time within a tick: a slow upstream holds one slot, not the whole batch. */
const CONCURRENCY = 8;

type Deps = Pick<AppContext, 'config' | 'store' | 'keyring' | 'catalog' | 'customAuthMethods' | 'logger' | 'metrics' | 'requestLog' | 'connectionRows'>;

export class HealthScheduler {
  #timer: NodeJS.Timeout | null = null;
  #tick: Promise<unknown> | null = null;
  #stopped = true;
  #paused = false;

  constructor(
    private readonly deps: Deps,
    private readonly broker: CredentialBroker,
    /** The time the scheduler decides by (tests move it forward instead of waiting). */
    private readonly clock: () => number = Date.now,
  ) {}

  /** Ticks every `healthCheckIntervalMs` (never two at once); 0 leaves this instance out. */
  start(): void {
    if (this.deps.config.healthCheckIntervalMs === 0 || !this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#tick;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#tick = this.tick()
        .then(
          () => {
            if (this.#paused) this.deps.logger.info('health scheduler: the store is back, resuming');
            this.#paused = false;
          },
          (error: unknown) => {
            // The database away is weather: wait for it quietly, tick by tick, and resume.
            if (isStoreUnavailable(error)) {
              if (!this.#paused) this.deps.logger.warn({ err: error }, 'health scheduler: the store is unavailable, pausing');
              this.#paused = true;
            } else this.deps.logger.error({ err: error }, 'health scheduler: a tick failed');
          },
        )
        .finally(() => this.#schedule());
    }, this.deps.config.healthCheckIntervalMs);
    this.#timer.unref();
  }

  /** Claims what is due and checks it; answers how many connections it claimed. */
  async tick(): Promise<number> {
    const now = this.clock();
    const nowIso = new Date(now).toISOString();
    const claimIso = new Date(now + CLAIM_MS).toISOString();
    const { db } = this.deps.store;
    const claimed = await db
      .updateTable('connections')
      .set({ next_check_at: claimIso })
      .where('id', 'in', (eb) =>
        eb.selectFrom('connections').select('id').where('next_check_at', '<=', nowIso).orderBy('next_check_at').limit(this.deps.config.healthCheckBatch),
      )
      .where('next_check_at', '<=', nowIso)
      .returningAll()
      .execute();
    for (let start = 0; start < claimed.length; start += CONCURRENCY) {
      await Promise.all(claimed.slice(start, start + CONCURRENCY).map((row) => this.#check(row, claimIso, now)));
    }
    return claimed.length;
  }

  async #check(row: ConnectionsTable, claimIso: string, now: number): Promise<void> {
    const connector = this.deps.catalog.connectors.get(row.connector_id);
    try {
      const credentials = this.#credentialsOf(row);
      if (row.status === 'active' && credentials?.type === 'oauth2') await this.#refreshIfDue(row, credentials, now);
      const verifyAt = verifyDueAt(connector, row);
      if (connector && verifyAt !== null && verifyAt <= now) {
        const current = await this.#read(row.id);
        const checkable =
          current?.status === 'active' || (current?.status === 'needs_reauth' && RECOVERABLE_REASONS.includes(current.needs_reauth_reason as HealthReason));
        if (current && checkable) await this.#verify(connector, current);
      }
    } catch (error) {
      if (isStoreUnavailable(error)) throw error;
      this.deps.logger.warn({ err: error, connectionId: row.id }, 'health scheduler: a check failed');
    } finally {
      await this.#reschedule(row.id, connector, claimIso, now);
    }
  }

  async #refreshIfDue(row: ConnectionsTable, credentials: Extract<Credentials, { type: 'oauth2' }>, now: number): Promise<void> {
    if (credentials.tokens.refreshToken) {
      const refreshAt = refreshDueAt(this.deps, row);
      if (refreshAt === null || refreshAt > now) return;
      // The broker records the outcome (refreshed, refresh_failed, needs_reauth) and its events.
      await this.broker.credentials(row.id, { forceRefresh: true }).catch((error: unknown) => {
        if (!(error instanceof HttpError)) throw error;
      });
      return;
    }
    // Nothing can renew it: once it runs out the person is needed, and the webhooks say so.
    if (row.expires_at !== null && Date.parse(row.expires_at) <= now) {
      await recordRefreshFailed(this.deps, row, { code: 'no_refresh_token', message: 'The access token expired and there is no refresh token.' }, 'expired');
    }
  }

  /** Runs the verify action with the stored credentials (through the broker while active, so a 401 refreshes first). */
  async #verify(connector: Connector, row: ConnectionsTable): Promise<void> {
    const action = connector.actions[connector.verifyAction!]!;
    const credentials = this.#credentialsOf(row);
    if (!credentials) return;
    let outcome: VerifyOutcome;
    try {
      const response = await callUpstream(this.deps, this.broker, this.deps.customAuthMethods, {
        connector,
        connectionId: row.id,
        ...(row.status === 'active' ? { connection: row } : { credentials }),
        method: action.method,
        path: action.path,
        query: action.query,
      });
      response.rest?.destroy();
      if (response.status >= 200 && response.status < 300) outcome = { kind: 'passed' };
      else if (response.status === 401 || response.status === 403) {
        // OAuth tokens that still refresh but are refused: the person withdrew the app's access upstream.
        const reason: HealthReason = credentials.type === 'oauth2' ? 'revoked_upstream' : 'verification_failed';
        outcome = { kind: 'refused', reason, error: { code: reason, message: `The verify action ${connector.verifyAction} answered ${response.status}.` } };
      } else {
        outcome = {
          kind: 'inconclusive',
          error: { code: 'verification_inconclusive', message: `The verify action ${connector.verifyAction} answered ${response.status}.` },
        };
      }
    } catch (error) {
      // A refresh the provider refused during the call was recorded by the broker already.
      if (error instanceof HttpError && error.code === 'connection_needs_reauth') return;
      if (!(error instanceof HttpError)) throw error;
      outcome = { kind: 'inconclusive', error: { code: error.code, message: error.message } };
    }
    // Read again: a refresh during the call replaced the credentials the outcome is recorded against.
    const latest = await this.#read(row.id);
    if (latest) await recordVerified(this.deps, latest, this.#credentialsOf(latest), outcome);
  }

  /** Unless an outcome already set the next check, it is set from what the connection holds now. */
  async #reschedule(id: string, connector: Connector | undefined, claimIso: string, now: number): Promise<void> {
    const latest = await this.#read(id);
    if (!latest || latest.next_check_at !== claimIso) return;
    await this.deps.store.db
      .updateTable('connections')
      .set({ next_check_at: nextCheckAt(this.deps, connector, latest, this.#credentialsOf(latest), now) })
      .where('id', '=', id)
      .where('next_check_at', '=', claimIso)
      .execute();
  }

  #credentialsOf(row: ConnectionsTable): Credentials | null {
    try {
      return decryptCredentials(this.deps, row);
    } catch {
      // Unreadable (a master key no longer configured): nothing to refresh or verify with.
      return null;
    }
  }

  #read(id: string): Promise<ConnectionsTable | undefined> {
    return this.deps.store.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
  }
}
