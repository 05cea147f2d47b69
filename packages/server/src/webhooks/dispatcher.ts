/**
 * Sends what the outbox holds. Every instance runs one dispatcher; they share the work through
 * leases in the database: a dispatcher claims due deliveries with one conditional UPDATE (a row
 * whose lease another dispatcher holds does not match, and PostgreSQL re-checks the condition on a
 * row another transaction just claimed), sends each once, and records the outcome only while its
 * claim token still holds the row. A dispatcher killed mid-send leaves a lease that simply runs
 * out, and the delivery is sent again: at least once, never twice for one attempt while a lease holds.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { Webhook } from 'standardwebhooks';
import type { Agent } from 'undici';
import { SYSTEM, writeAudit } from '../audit/service.js';
import type { AppContext } from '../context.js';
import { sendUpstream } from '../connectors/upstream-client.js';
import type { Database, WebhookEndpointsTable } from '../store/schema.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import { emitWebhookEvent } from './emit.js';
import { secretAad, targetPolicyOf, toWebhookView } from './service.js';
import { guardedLookup, refusedUrlReason } from './target.js';

/** The waits after each failed attempt (before jitter): about 27 hours in all, then the delivery is `failed`. */
export const RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** The wait after the `failedAttempts`-th failure, ±10 % so deliveries failed together do not all return together; null when the schedule is over. */
export function retryDelayMs(failedAttempts: number, random: () => number = Math.random): number | null {
  const base = RETRY_SCHEDULE_MS[failedAttempts - 1];
  return base === undefined ? null : Math.round(base * (0.9 + 0.2 * random()));
}

/** Answers kept per attempt: enough to see an error page's start, never a whole page. */
const RESPONSE_BYTES = 1024;
/** What a lease adds to the webhook timeout: time to record the outcome. */
const LEASE_MARGIN_MS = 5_000;
/** Deliveries claimed (and sent concurrently) per round. */
const BATCH = 32;

export interface Clock {
  now(): number;
}

type Deps = Pick<AppContext, 'store' | 'keyring' | 'config' | 'logger'>;

const iso = (ms: number) => new Date(ms).toISOString();

interface Outcome {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  response: string | null;
  error: string | null;
}

export class WebhookDispatcher {
  /** Made on the first send (undici loads then, not at start): see `#agentOf`. */
  #agent: Promise<Agent> | null = null;
  #closed = false;
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<unknown> | null = null;
  #stopped = true;
  #storeAway = false;

  constructor(
    private readonly deps: Deps,
    private readonly clock: Clock = { now: () => Date.now() },
  ) {}

  /**
   * Its own pool: every connection it opens resolves the name through the address guard, and
   * connects to exactly the address that was checked.
   */
  #agentOf(): Promise<Agent> {
    this.#agent ??= import('undici').then(
      ({ Agent }) => new Agent({ keepAliveTimeout: 10_000, connections: 64, connect: { lookup: guardedLookup(targetPolicyOf(this.deps.config)) } }),
    );
    return this.#agent;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops claiming, and waits for the round under way (its sends end within the webhook timeout). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#round;
    await (await this.#agent)?.close();
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const round = this.runOnce().then(
        (sent) => {
          if (this.#storeAway) this.deps.logger.info('webhooks: the database is back, deliveries resume');
          this.#storeAway = false;
          // A full batch: more are likely due, so the next round starts at once.
          return sent === BATCH ? 0 : this.deps.config.webhookPollMs;
        },
        (error: unknown) => {
          // While the database is away the dispatcher pauses (and says so once); its leases run out
          // and the deliveries are picked up again once it is back.
          if (isStoreUnavailable(error)) {
            if (!this.#storeAway) this.deps.logger.warn({ err: error }, 'webhooks: the database is unavailable, deliveries pause');
            this.#storeAway = true;
            return Math.max(this.deps.config.webhookPollMs, 2_000);
          }
          this.deps.logger.error({ err: error }, 'webhooks: a dispatch round failed');
          return this.deps.config.webhookPollMs;
        },
      );
      this.#round = round;
      void round.then((next) => this.#schedule(next));
    }, delayMs);
    this.#timer.unref();
  }

  /** Claims what is due now and sends it; answers how many were sent. Tests call it to step the clock. */
  async runOnce(): Promise<number> {
    const claimed = await this.#claim();
    await Promise.all(claimed.map((id) => this.#deliver(id.id, id.token)));
    return claimed.length;
  }

  async #claim(): Promise<Array<{ id: string; token: string }>> {
    const now = iso(this.clock.now());
    // The lease outlives the attempt (its timeout) with room to record the outcome; after a crash,
    // it is also how long the delivery waits before another dispatcher sends it again.
    const leaseUntil = iso(this.clock.now() + this.deps.config.webhookTimeoutMs + LEASE_MARGIN_MS);
    const token = randomBytes(9).toString('base64url');
    const due = (db: Kysely<Database>) =>
      db
        .selectFrom('webhook_deliveries')
        .innerJoin('webhook_endpoints', 'webhook_endpoints.id', 'webhook_deliveries.endpoint_id')
        .select('webhook_deliveries.id')
        .where('webhook_deliveries.status', '=', 'pending')
        .where('webhook_deliveries.next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('webhook_deliveries.claimed_until', 'is', null), eb('webhook_deliveries.claimed_until', '<=', now)]))
        .where('webhook_endpoints.enabled', '=', 1)
        .orderBy('webhook_deliveries.next_attempt_at')
        .limit(BATCH);
    const rows = await this.deps.store.db
      .updateTable('webhook_deliveries')
      .set({ claimed_until: leaseUntil, claim_token: token })
      .where('id', 'in', due(this.deps.store.db))
      // Repeated outside the subquery: these are what PostgreSQL re-checks on a row another dispatcher just claimed.
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
      .returning('id')
      .execute();
    return rows.map((row) => ({ id: row.id, token }));
  }

  async #deliver(deliveryId: string, token: string): Promise<void> {
    const row = await this.deps.store.db
      .selectFrom('webhook_deliveries')
      .innerJoin('webhook_events', 'webhook_events.id', 'webhook_deliveries.event_id')
      .innerJoin('webhook_endpoints', 'webhook_endpoints.id', 'webhook_deliveries.endpoint_id')
      .select([
        'webhook_deliveries.attempts',
        'webhook_events.id as eventId',
        'webhook_events.type',
        'webhook_events.created_at as eventAt',
        'webhook_events.data',
      ])
      .selectAll('webhook_endpoints')
      .where('webhook_deliveries.id', '=', deliveryId)
      .where('webhook_deliveries.claim_token', '=', token)
      .executeTakeFirst();
    if (!row) return;
    // Standard Webhooks' payload ({type, timestamp, data}) plus the message id, the same as
    // `webhook-id`, so a receiver that keeps only the body can still deduplicate.
    const body = `{"type":${JSON.stringify(row.type)},"id":${JSON.stringify(row.eventId)},"timestamp":${JSON.stringify(row.eventAt)},"data":${row.data}}`;
    const outcome = await this.#send(row, row.eventId, body);
    await this.#record(deliveryId, token, row, row.attempts + 1, outcome);
  }

  /** The secrets that sign now: the current one, and the one before it while its grace lasts. */
  #secretsOf(endpoint: WebhookEndpointsTable, now: number): string[] {
    const secrets = [this.deps.keyring.decrypt(endpoint.secret_ciphertext, secretAad(endpoint.id))];
    if (endpoint.previous_secret_ciphertext && endpoint.previous_secret_until && Date.parse(endpoint.previous_secret_until) > now) {
      secrets.push(this.deps.keyring.decrypt(endpoint.previous_secret_ciphertext, secretAad(endpoint.id)));
    }
    return secrets;
  }

  async #send(endpoint: WebhookEndpointsTable, eventId: string, body: string): Promise<Outcome> {
    const started = performance.now();
    const durationMs = () => Math.round(performance.now() - started);
    // Literal addresses never reach the lookup's guard, and the rules may have changed since the URL was saved.
    const refused = refusedUrlReason(endpoint.url, targetPolicyOf(this.deps.config));
    if (refused) return { ok: false, statusCode: null, durationMs: 0, response: null, error: `refused target: ${refused}` };
    const now = this.clock.now();
    const signedAt = new Date(Math.floor(now / 1000) * 1000);
    const signature = this.#secretsOf(endpoint, now)
      .map((secret) => new Webhook(secret).sign(eventId, signedAt, body))
      .join(' ');
    const headers = new Headers({
      'content-type': 'application/json',
      'user-agent': 'Patchbay-Webhooks/1',
      'webhook-id': eventId,
      'webhook-timestamp': String(signedAt.getTime() / 1000),
      'webhook-signature': signature,
    });
    try {
      const answer = await sendUpstream(
        new URL(endpoint.url),
        { method: 'POST', headers, body, timeoutMs: this.deps.config.webhookTimeoutMs, dispatcher: await this.#agentOf() },
        (error) => (error instanceof Error ? error : new Error(String(error))),
      );
      answer.rest?.destroy();
      const response = answer.head.subarray(0, RESPONSE_BYTES).toString('utf8');
      // Only 2xx counts: a redirect is not followed (it could lead anywhere), so it is a failure.
      return { ok: answer.status >= 200 && answer.status < 300, statusCode: answer.status, durationMs: durationMs(), response, error: null };
    } catch (error) {
      return { ok: false, statusCode: null, durationMs: durationMs(), response: null, error: describe(error) };
    }
  }

  async #record(deliveryId: string, token: string, endpoint: WebhookEndpointsTable, attempts: number, outcome: Outcome): Promise<void> {
    const nowMs = this.clock.now();
    const now = iso(nowMs);
    const delay = outcome.ok ? null : retryDelayMs(attempts);
    await this.deps.store.db.transaction().execute(async (trx) => {
      const recorded = await trx
        .updateTable('webhook_deliveries')
        .set({
          status: outcome.ok ? 'succeeded' : delay === null ? 'failed' : 'pending',
          attempts,
          next_attempt_at: delay === null ? null : iso(nowMs + delay),
          claimed_until: null,
          claim_token: null,
          last_status_code: outcome.statusCode,
          last_duration_ms: outcome.durationMs,
          last_response: outcome.response,
          last_error: outcome.error,
          updated_at: now,
        })
        .where('id', '=', deliveryId)
        .where('claim_token', '=', token)
        .executeTakeFirst();
      // The lease ran out and another dispatcher took the delivery: its outcome is the one kept.
      if (Number(recorded.numUpdatedRows) === 0) return;
      if (outcome.ok) {
        if (endpoint.failing_since !== null) await trx.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', endpoint.id).execute();
        return;
      }
      const failingSince = endpoint.failing_since ?? now;
      if (endpoint.failing_since === null) await trx.updateTable('webhook_endpoints').set({ failing_since: now }).where('id', '=', endpoint.id).execute();
      if (nowMs - Date.parse(failingSince) >= this.deps.config.webhookDisableAfterDays * 86_400_000) await this.#disable(trx, endpoint.id, failingSince);
    });
    this.deps.logger.info(
      {
        deliveryId,
        webhookId: endpoint.id,
        attempt: attempts,
        ok: outcome.ok,
        statusCode: outcome.statusCode,
        durationMs: outcome.durationMs,
        error: outcome.error,
      },
      'webhook delivery attempt',
    );
  }

  /** Every delivery failed for the disable window: the endpoint stops receiving, and the others hear of it. */
  async #disable(trx: Kysely<Database>, endpointId: string, failingSince: string): Promise<void> {
    const disabled = await trx
      .updateTable('webhook_endpoints')
      .set({ enabled: 0, disabled_reason: 'failing', updated_at: iso(this.clock.now()) })
      .where('id', '=', endpointId)
      .where('enabled', '=', 1)
      .returningAll()
      .executeTakeFirst();
    if (!disabled) return;
    await writeAudit(trx, {
      ...SYSTEM,
      action: 'webhook.disabled',
      targetType: 'webhook',
      targetId: endpointId,
      details: { reason: 'failing', failingSince, days: this.deps.config.webhookDisableAfterDays },
    });
    await emitWebhookEvent(trx, 'webhook.disabled', toWebhookView(disabled, this.clock.now()));
    this.deps.logger.warn({ webhookId: endpointId, failingSince }, 'webhook endpoint disabled: its deliveries have failed for the disable window');
  }
}

/** A failure without an answer, in words that name no secret (the URL is the operator's own). */
function describe(error: unknown): string {
  const seen = new Set<unknown>();
  for (let current = error; current && !seen.has(current); current = (current as { cause?: unknown }).cause) {
    seen.add(current);
    const { name, code } = current as { name?: string; code?: string };
    if (name === 'TimeoutError') return 'timeout: no answer within the webhook timeout';
    if (name === 'RefusedTarget') return `refused target: ${(current as Error).message}`;
    if (code && code !== 'UND_ERR_SOCKET') return `connection failed: ${code}`;
  }
  return `connection failed: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown error'}`;
}
