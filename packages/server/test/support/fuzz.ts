import { Agent, request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { requestArbitrary } from './fuzz-requests.js';
import type { FuzzAnswer, FuzzRequest, FuzzTarget } from './fuzz-target.js';

export { startFuzzTarget, type FuzzTarget } from './fuzz-target.js';

/**
 * A request fuzzer over every route of a real server on SQLite: fast-check draws methods, paths
 * (valid ids and hostile segments), query strings, headers (valid, foreign and malformed
 * credentials) and bodies (JSON of wrong types, deep nesting, prototype keys, huge strings,
 * invalid UTF-8, other media types). Every answer is checked: no 5xx, every API error in the
 * `{error: {code, message}}` shape, no stack trace or file path, no secret the setup made.
 */

/** Routes that answer a person's browser with a page, errors included (never JSON). */
const PAGE_ROUTES = new Set([
  '/partner',
  '/oauth/callback',
  '/v1/integrations/:integrationId/session/:sessionId/start',
  '/v1/integrations/:integrationId/session/:sessionId/config',
  '/v1/integrations/:integrationId/session/:sessionId/credentials',
]);
const PROXY_ROUTE = '/v1/connections/:connectionId/proxy/{*rest}';

/** Sends one request with node:http (fetch refuses TRACE and friends); an event stream is read up to its headers. */
export function send(agent: Agent, origin: string, request: FuzzRequest): Promise<FuzzAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${origin}${request.path}`, {
      agent,
      method: request.method,
      headers: { ...request.headers, ...(request.body ? { 'content-length': String(request.body.length) } : {}) },
      timeout: 15_000,
    });
    outgoing.on('response', (response) => {
      if (String(response.headers['content-type']).startsWith('text/event-stream')) {
        response.destroy();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: '' });
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('no answer within 15 s')));
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

const TRACE_PATTERNS = [/\bat .+:\d+:\d+/, /node_modules/, /\/work\//, /packages\/server/, /\.[cm]?[jt]s:\d+/, /\n\s+at /];

export type ViolationKind = '5xx' | 'shape' | 'stack' | 'secret' | 'no answer';

export interface Violation {
  kind: ViolationKind;
  detail: string;
  request: FuzzRequest;
}

function isErrorShape(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    return (
      Object.keys(parsed).length === 1 &&
      typeof parsed.error === 'object' &&
      parsed.error !== null &&
      Object.keys(parsed.error).sort().join() === 'code,message' &&
      typeof parsed.error.code === 'string' &&
      typeof parsed.error.message === 'string' &&
      parsed.error.message.length > 0
    );
  } catch {
    return false;
  }
}

/** A proxied answer is the third party's own (the stand-in says `{"error": "…"}`): passed through as it came. */
function isUpstreamAnswer(request: FuzzRequest, body: string): boolean {
  if (request.route !== PROXY_ROUTE) return false;
  try {
    return typeof (JSON.parse(body) as { error?: unknown }).error === 'string';
  } catch {
    return false;
  }
}

export function violationsOf(target: FuzzTarget, request: FuzzRequest, answer: FuzzAnswer): Violation[] {
  const found: Violation[] = [];
  const add = (kind: ViolationKind, detail: string) => found.push({ kind, detail, request });
  if (answer.status >= 500) add('5xx', `${answer.status} ${answer.body.slice(0, 200)}`);
  const contentType = String(answer.headers['content-type'] ?? '');
  const expectsJsonError =
    answer.status >= 400 &&
    request.method !== 'HEAD' &&
    !PAGE_ROUTES.has(request.route) &&
    !contentType.startsWith('text/event-stream') &&
    !isUpstreamAnswer(request, answer.body);
  if (expectsJsonError && (!contentType.startsWith('application/json') || !isErrorShape(answer.body))) {
    add('shape', `${answer.status} ${contentType} ${answer.body.slice(0, 200)}`);
  }
  const everything = `${JSON.stringify(answer.headers)}\n${answer.body}`;
  // A script the server serves (the reference page's renderer) is code, full of text that looks like a trace.
  const servedScript = answer.status === 200 && /^(text|application)\/javascript/.test(contentType);
  const trace = servedScript ? undefined : TRACE_PATTERNS.find((pattern) => pattern.test(answer.body));
  if (trace) add('stack', `${trace} in ${answer.body.slice(0, 300)}`);
  const secret = target.secrets.find((value) => everything.includes(value));
  if (secret) add('secret', `${secret.slice(0, 8)}… in the answer`);
  return found;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  byStatus: Record<string, number>;
  counts: Record<ViolationKind, number>;
  /** The first violations of each kind, for the failure message. */
  examples: Violation[];
  milliseconds: number;
  /** The slowest answers, to see where the run's time goes. */
  slowest: Array<{ ms: number; method: string; route: string; status: number }>;
}

/** Draws `count` requests from `seed`, sends them `concurrency` at a time, and checks every answer. */
export async function runFuzz(target: FuzzTarget, options: { count: number; seed: number; concurrency?: number }): Promise<FuzzReport> {
  const started = Date.now();
  const arbitrary = requestArbitrary(target);
  // Drawn a hundred at a time (bodies of 300 KB are among them): memory stays flat at any count,
  // and the same seed still draws the same requests.
  const CHUNK = 100;
  let drawn: FuzzRequest[] = [];
  const take = (index: number): FuzzRequest => {
    if (index % CHUNK === 0) drawn = fc.sample(arbitrary, { numRuns: Math.min(CHUNK, options.count - index), seed: options.seed + index / CHUNK });
    return drawn[index % CHUNK]!;
  };
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency ?? 4 });
  const report: FuzzReport = {
    seed: options.seed,
    requests: 0,
    byStatus: {},
    counts: { '5xx': 0, shape: 0, stack: 0, secret: 0, 'no answer': 0 },
    examples: [],
    milliseconds: 0,
    slowest: [],
  };
  const record = (violation: Violation) => {
    report.counts[violation.kind] += 1;
    if (report.examples.filter((example) => example.kind === violation.kind).length < 3) report.examples.push(violation);
  };
  let next = 0;
  const worker = async () => {
    while (next < options.count) {
      const request = take(next++);
      try {
        const sent = Date.now();
        const answer = await send(agent, target.patchbay.origin, request);
        const ms = Date.now() - sent;
        if (report.slowest.length < 5 || ms > report.slowest[4]!.ms) {
          report.slowest = [...report.slowest, { ms, method: request.method, route: request.route, status: answer.status }]
            .sort((a, b) => b.ms - a.ms)
            .slice(0, 5);
        }
        report.byStatus[answer.status] = (report.byStatus[answer.status] ?? 0) + 1;
        for (const violation of violationsOf(target, request, answer)) record(violation);
      } catch (error) {
        record({ kind: 'no answer', detail: (error as Error).message, request });
      }
      report.requests += 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  agent.destroy();
  report.milliseconds = Date.now() - started;
  return report;
}

/** One line per violation example, enough to replay it. */
export function describeExamples(report: FuzzReport): string {
  return report.examples
    .map(
      (example) =>
        `[${example.kind}] ${example.request.method} ${example.request.path.slice(0, 200)} (${example.request.route}) ` +
        `headers=${JSON.stringify(example.request.headers).slice(0, 300)} body=${JSON.stringify(example.request.body?.toString('utf8').slice(0, 200) ?? null)}\n    → ${example.detail}`,
    )
    .join('\n');
}
