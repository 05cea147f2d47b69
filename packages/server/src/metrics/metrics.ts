import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RouteEntry } from '../http/route-table.js';

/** What a store can tell about its connection pool (PostgreSQL); SQLite has one connection and no pool. */
export type PoolStats = { total: number; idle: number; waiting: number };

/** Mounts served by middleware rather than routes: labelled by their mount, never by the path below it. */
const MOUNTS = ['/static', '/widget', '/demo'];

/** Statement kinds for the store histogram: a fixed set, whatever SQL runs. */
const OPERATIONS = new Set(['select', 'insert', 'update', 'delete', 'begin', 'commit', 'rollback']);

export function operationOf(sql: string): string {
  const word = /^\s*\(?\s*([a-z]+)/i.exec(sql)?.[1]?.toLowerCase() ?? '';
  return OPERATIONS.has(word) ? word : word === 'with' ? 'select' : 'other';
}

/**
 * Every metric the server exports, in a registry of its own (no process-wide state: tests build
 * many servers). Labels are bounded sets only: route templates, methods, statuses, reason codes,
 * connector slugs. Never a raw path, an id or a credential.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #routes = new WeakMap<object, string>();
  #pool: (() => PoolStats | null) | null = null;

  readonly httpRequests = new Counter({
    name: 'patchbay_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'patchbay_http_request_duration_seconds',
    help: 'Time from a request to the end of its answer, by route template and method.',
    labelNames: ['route', 'method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /**
   * Attempts counted since the last scrape: successes, and failures by reason. Every keyed request
   * counts one, and prom-client's `inc` hashes its labels on each call (a bound child too), so the
   * counter takes these sums when it is read instead.
   */
  #authSuccesses = 0;
  readonly #authFailures = new Map<string, number>();
  readonly authAttempts = new Counter({
    name: 'patchbay_auth_attempts_total',
    help: 'Authentication attempts, by outcome and reason code (reason "none" for a success).',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
    collect: () => this.#moveAuthAttempts(),
  });
  readonly upstreamRequests = new Counter({
    name: 'patchbay_upstream_requests_total',
    help: 'Requests to third-party APIs (proxy, actions, credential checks), by connector and status ("timeout" or "unreachable" when none came).',
    labelNames: ['connector', 'status'] as const,
    registers: [this.registry],
  });
  readonly upstreamDuration = new Histogram({
    name: 'patchbay_upstream_request_duration_seconds',
    help: 'Time a third-party API took to answer in full, by connector.',
    labelNames: ['connector'] as const,
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly tokenRefreshes = new Counter({
    name: 'patchbay_token_refreshes_total',
    help: 'Credential refreshes, by outcome: success, needs_reauth (the provider refused), failed.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly eventsPublished = new Counter({
    name: 'patchbay_events_published_total',
    help: 'Events accepted into the event log.',
    registers: [this.registry],
  });
  readonly eventsDelivered = new Counter({
    name: 'patchbay_events_delivered_total',
    help: 'Events handed to readers, by how: stream (Server-Sent Events) or poll.',
    labelNames: ['via'] as const,
    registers: [this.registry],
  });
  readonly slowReadersEnded = new Counter({
    name: 'patchbay_event_streams_slow_ended_total',
    help: 'Event streams ended because their reader fell behind by more than the buffer bound (the reader resumes).',
    registers: [this.registry],
  });
  readonly openStreams = new Gauge({
    name: 'patchbay_event_streams_open',
    help: 'Event streams open on this instance.',
    registers: [this.registry],
  });
  readonly storeQueries = new Histogram({
    name: 'patchbay_store_query_duration_seconds',
    help: 'Database statement time, by kind of statement.',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });

  constructor() {
    const pool = () => this.#pool?.() ?? null;
    new Gauge({
      name: 'patchbay_store_pool_connections',
      help: 'PostgreSQL pool connections of this instance, by state: total, idle, waiting (callers queued for one).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const stats = pool();
        if (!stats) return;
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** The route templates requests are labelled with (call once every route is wired). */
  learnRoutes(table: RouteEntry[]): void {
    for (const entry of table) this.#routes.set(entry.route, entry.path);
  }

  watchPool(stats: () => PoolStats | null): void {
    this.#pool = stats;
  }

  /** Counts an answered request under its route template and times it (http/request-observer.ts calls this once the answer is done). */
  observeRequest(template: string, method: string, status: number, seconds: number): void {
    const methodLabel = method.length <= 10 ? method : 'other';
    this.httpRequests.inc({ route: template, method: methodLabel, status: String(status) });
    this.httpDuration.observe({ route: template, method: methodLabel }, seconds);
  }

  /** Counts one authentication attempt (every auth event, keys/auth-events.ts). */
  countAuthAttempt(outcome: 'success' | 'failure', reason: string | null): void {
    if (outcome === 'success') this.#authSuccesses++;
    else this.#authFailures.set(reason ?? 'none', (this.#authFailures.get(reason ?? 'none') ?? 0) + 1);
  }

  #moveAuthAttempts(): void {
    if (this.#authSuccesses > 0) this.authAttempts.inc({ outcome: 'success', reason: 'none' }, this.#authSuccesses);
    this.#authSuccesses = 0;
    for (const [reason, count] of this.#authFailures) this.authAttempts.inc({ outcome: 'failure', reason }, count);
    this.#authFailures.clear();
  }

  routeOf(route: object | undefined, url: string): string {
    const template = route ? this.#routes.get(route) : undefined;
    if (template) return template;
    const mount = MOUNTS.find((prefix) => url === prefix || url.startsWith(`${prefix}/`));
    return mount ? `${mount}/*` : 'unmatched';
  }

  recordUpstream(connector: string, status: number | 'timeout' | 'unreachable', seconds: number): void {
    this.upstreamRequests.inc({ connector, status: String(status) });
    this.upstreamDuration.observe({ connector }, seconds);
  }

  /** Kysely's query log: one observation per statement, labelled with its kind only. */
  observeQuery(sql: string, durationMs: number): void {
    this.storeQueries.observe({ operation: operationOf(sql) }, durationMs / 1000);
  }
}
