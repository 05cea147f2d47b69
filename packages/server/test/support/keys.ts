import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../../src/store/store.js';
import type { AuthEventsTable } from '../../src/store/schema.js';
import { startPatchbay, type TestPatchbay } from './harness.js';
import type { LogCapture } from './log-capture.js';

/** What the server answers for an access key (GET /v1/keys/{id}); `key` only ever in a create or roll answer. */
export interface KeyView {
  id: string;
  name: string;
  description: string | null;
  keyPrefix: string;
  scopes: string[];
  tenantId: string | null;
  ipAllowlist: string[] | null;
  createdAt: string;
  expiresAt: string | null;
  active: boolean;
  lastAuthenticatedAt: string | null;
  rolledFrom: string | null;
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or null when the body is not JSON. */
  json: unknown;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** A key or token for `Authorization: Bearer …`; null sends no header. */
  auth?: string | null;
  /** A raw Authorization header value, for malformed schemes. */
  authorization?: string;
  headers?: Record<string, string>;
  /** Another origin of the same app (a second listener); defaults to the harness's loopback origin. */
  origin?: string;
  /** Secrets this one answer may legitimately carry (the plain key in a create answer). */
  allow?: readonly string[];
}

/** A JWT anywhere in a text: three base64url parts, the first one a JSON header. */
export const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;

/**
 * Collects every secret a test file sees (plain keys, their stored hashes, tokens) and every
 * answer and log it produces, so one final test can search all of them. An answer may carry only
 * the secrets it was created to hand out.
 */
export class SecretWatch {
  readonly #secrets = new Map<string, string>();
  readonly #answers: Array<{ label: string; text: string; allow: Set<string> }> = [];
  readonly #logs: Array<{ label: string; capture: LogCapture }> = [];

  /** The part of a key that is never shown (the prefix is public by design), or a whole hash/token. */
  addKey(key: string, label: string): void {
    assert.match(key, /^pbk_[0-9A-Za-z]{28}$/, `${label} is a well-formed key`);
    this.#secrets.set(key, `plain key of ${label}`);
    this.#secrets.set(key.slice(10), `secret part of ${label}`);
  }

  addSecret(value: string, label: string): void {
    assert.ok(value.length >= 16, `${label} is long enough to search for`);
    this.#secrets.set(value, label);
  }

  watchLogs(capture: LogCapture, label: string): void {
    this.#logs.push({ label, capture });
  }

  recordAnswer(label: string, text: string, allow: readonly string[] = []): void {
    const allowed = new Set<string>();
    for (const value of allow) this.#allow(allowed, value);
    this.#answers.push({ label, text, allow: allowed });
  }

  #allow(allowed: Set<string>, value: string): void {
    allowed.add(value);
    if (value.startsWith('pbk_')) allowed.add(value.slice(10));
  }

  /**
   * A secret handed out by this answer (a create, roll or token answer): watched from now on, and
   * allowed in this one answer only.
   */
  handedOut(response: ApiResponse, secret: string, label: string): void {
    if (secret.startsWith('pbk_')) this.addKey(secret, label);
    else this.addSecret(secret, label);
    const answer = this.#answers.findLast((entry) => entry.text === response.text);
    assert.ok(answer, `the answer that handed out ${label} was recorded`);
    this.#allow(answer.allow, secret);
  }

  /**
   * A server for one part of a file, its logs and (through `api`) its answers searched by this watch,
   * with an admin key named `adminName`, itself one of the secrets searched for. Close it with `closeServer`.
   */
  async startServer(
    label: string,
    adminName: string,
    options?: Parameters<typeof startPatchbay>[0],
  ): Promise<{ patchbay: TestPatchbay; api: Api; admin: string }> {
    const patchbay = await startPatchbay(options);
    this.watchLogs(patchbay.logs, label);
    const admin = await patchbay.accessKey(['admin'], { name: adminName });
    this.addKey(admin, adminName);
    return { patchbay, api: apiClient(patchbay, this), admin };
  }

  /** Closes a server, its stored key hashes added to the secrets searched for first. */
  async closeServer(patchbay: TestPatchbay): Promise<void> {
    await this.collectHashes(patchbay);
    await patchbay.close();
  }

  /** Reads every stored key hash of a server (call before closing it). */
  async collectHashes(patchbay: TestPatchbay): Promise<void> {
    const rows = await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select(['name', 'secret_hash']).execute();
    for (const row of rows) this.addSecret(row.secret_hash, `secret_hash of ${row.name}`);
  }

  get counts() {
    return { secrets: this.#secrets.size, answers: this.#answers.length, logLines: this.#logs.reduce((sum, log) => sum + log.capture.lines.length, 0) };
  }

  /** Every place a secret showed up where it must not, as readable findings. */
  leaks(): string[] {
    const found: string[] = [];
    for (const [secret, what] of this.#secrets) {
      for (const answer of this.#answers) {
        if (!answer.allow.has(secret) && answer.text.includes(secret)) found.push(`${what} in the answer to ${answer.label}`);
      }
      for (const log of this.#logs) {
        if (log.capture.text.includes(secret)) found.push(`${what} in the logs of ${log.label}`);
      }
    }
    for (const log of this.#logs) {
      const jwt = JWT_PATTERN.exec(log.capture.text);
      if (jwt) found.push(`a JWT (${jwt[0].slice(0, 24)}…) in the logs of ${log.label}`);
    }
    return found;
  }
}

/** A fetch wrapper for one server that parses JSON and hands every answer to the watch. */
export function apiClient(patchbay: TestPatchbay, watch?: SecretWatch) {
  return async function api(path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const method = options.method ?? 'GET';
    const headers: Record<string, string> = { ...options.headers };
    if (options.authorization !== undefined) headers.authorization = options.authorization;
    else if (options.auth) headers.authorization = `Bearer ${options.auth}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${options.origin ?? patchbay.origin}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
      redirect: 'manual',
    });
    const text = await response.text();
    let json: unknown = null;
    if ((response.headers.get('content-type') ?? '').includes('application/json')) json = JSON.parse(text);
    watch?.recordAnswer(`${method} ${path}`, text, options.allow);
    return { status: response.status, headers: response.headers, text, json };
  };
}

export type Api = ReturnType<typeof apiClient>;

/** Asserts the documented error shape exactly: `{error: {code, message}}` and nothing else. */
export function assertError(response: ApiResponse, status: number, code: string, context = ''): ErrorBody {
  const where = context ? ` (${context})` : '';
  assert.equal(response.status, status, `status${where}: ${response.text}`);
  assert.match(response.headers.get('content-type') ?? '', /application\/json/, `JSON error${where}`);
  const body = response.json as ErrorBody;
  assert.deepEqual(Object.keys(body), ['error'], `only an error member${where}`);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message'], `error has code and message${where}`);
  assert.equal(body.error.code, code, `error code${where}`);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0, `a message${where}`);
  return body;
}

/** Creates a key through POST /v1/keys with an admin key; the plain key goes to the watch. */
export async function createKeyOverHttp(
  api: Api,
  admin: string,
  body: Record<string, unknown>,
  watch?: SecretWatch,
): Promise<{ key: string; record: KeyView }> {
  const response = await api('/v1/keys', { method: 'POST', auth: admin, body });
  assert.equal(response.status, 201, `creating ${String(body.name)}: ${response.text}`);
  const { key, ...record } = response.json as KeyView & { key: string };
  watch?.handedOut(response, key, String(body.name));
  return { key, record };
}

/** The newest auth event id so far (after a flush), to find the events a request makes. */
export async function authEventMark(patchbay: TestPatchbay): Promise<string> {
  const { ctx } = patchbay.patchbay;
  await ctx.authEvents.flush();
  const row = await ctx.store.db.selectFrom('auth_events').select('id').orderBy('id', 'desc').limit(1).executeTakeFirst();
  return row?.id ?? '';
}

/** The auth events recorded after `mark`, oldest first (after a flush). */
export async function authEventsSince(patchbay: TestPatchbay, mark: string): Promise<AuthEventsTable[]> {
  const { ctx } = patchbay.patchbay;
  await ctx.authEvents.flush();
  return ctx.store.db.selectFrom('auth_events').selectAll().where('id', '>', mark).orderBy('id').execute();
}

/** Runs one request and answers it with the auth events it recorded. */
export async function withEvents(patchbay: TestPatchbay, request: () => Promise<ApiResponse>): Promise<{ response: ApiResponse; events: AuthEventsTable[] }> {
  const mark = await authEventMark(patchbay);
  const response = await request();
  return { response, events: await authEventsSince(patchbay, mark) };
}

/** Asserts exactly one auth event with these fields (the ones given). */
export function assertOneEvent(events: AuthEventsTable[], expected: Partial<AuthEventsTable>, context = ''): AuthEventsTable {
  assert.equal(events.length, 1, `exactly one auth event${context ? ` (${context})` : ''}: ${JSON.stringify(events)}`);
  const event = events[0]!;
  const picked = Object.fromEntries(Object.keys(expected).map((field) => [field, event[field as keyof AuthEventsTable]]));
  assert.deepEqual(picked, expected, context);
  return event;
}

/** Polls every `intervalMs` until `check` answers a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * A file's closing check: no secret its watch holds showed up in an answer or a log line, and the
 * watch saw at least `least` of each (so an empty watch cannot pass).
 */
export function assertNoLeaks(watch: SecretWatch, least: { secrets: number; answers: number; logLines: number }): void {
  const { secrets, answers, logLines } = watch.counts;
  assert.ok(secrets >= least.secrets, `the search covers the file's keys and hashes (${secrets})`);
  assert.ok(answers >= least.answers, `the search covers the file's answers (${answers})`);
  assert.ok(logLines >= least.logLines, `the search covers the file's logs (${logLines})`);
  assert.deepEqual(watch.leaks(), []);
}

/** The id of the key named `name`, read from the store. */
export async function keyIdOf(patchbay: TestPatchbay, name: string): Promise<string> {
  const row = await patchbay.patchbay.ctx.store.db.selectFrom('access_keys').select('id').where('name', '=', name).executeTakeFirstOrThrow();
  return row.id;
}

/** Moves a key's expiry `agoMs` into the past in the store, as another instance (or the clock) would. */
export async function expireKeyInStore(patchbay: TestPatchbay, keyId: string, agoMs: number): Promise<void> {
  const expiresAt = new Date(Date.now() - agoMs).toISOString();
  await patchbay.patchbay.ctx.store.db.updateTable('access_keys').set({ expires_at: expiresAt }).where('id', '=', keyId).execute();
}

/** A migrated SQLite store in a folder of its own (`dir`), with a hashing key, for the key service's own tests; `close` removes the folder. */
export async function openKeyTestStore(): Promise<{ dir: string; store: Store; hashingKey: Buffer; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'patchbay-keys-'));
  const store = await openStore(`sqlite:${path.join(dir, 'patchbay.db')}`);
  await store.migrate();
  return {
    dir,
    store,
    hashingKey: randomBytes(32),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
