/**
 * The HTTP client for third-party APIs: undici's pooled Agent (the engine under Node's `fetch`,
 * without its per-call Request, Response and web-stream objects), kept-alive connections per
 * upstream origin, and answers whose bodies are streamed rather than read whole and re-wrapped.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/**
 * One pool per upstream origin, shared by every call in the process (as `fetch`'s global dispatcher
 * is): a connection opened for one tenant's call is reused by the next. Idle sockets do not keep
 * the process alive.
 */
let upstream: Promise<{ request: typeof import('undici').request; agent: Dispatcher }> | undefined;
/** undici and the pool, loaded on the first upstream call: a start (and a server that never proxies) skips loading it. */
const upstreamClient = () =>
  (upstream ??= import('undici').then(({ Agent, request }) => ({
    request,
    agent: new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, connections: 256 }),
  })));

/**
 * Bodies up to this size are read before the answer is passed on, so an upstream that stalls
 * mid-body still gets a clean 504; a larger body is passed on as it streams in.
 */
const BUFFERED_BODY_BYTES = 64 * 1024;

type RawHeaders = Record<string, string | string[] | undefined>;

/** The upstream's answer headers, read like `Headers` (lower-case names, repeated values joined). */
export class UpstreamHeaders implements Iterable<[string, string]> {
  constructor(private readonly raw: RawHeaders) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  *[Symbol.iterator](): Iterator<[string, string]> {
    for (const [name, value] of Object.entries(this.raw)) if (value !== undefined) yield [name, Array.isArray(value) ? value.join(', ') : value];
  }
}

export class UpstreamResponse {
  constructor(
    readonly status: number,
    readonly headers: UpstreamHeaders,
    /** The body, whole when `rest` is null, else its first part. */
    readonly head: Buffer,
    /** The rest of a large body, still arriving (the exchange's timeout still applies to it). */
    readonly rest: Readable | null,
    /** Turns a failure while the rest arrives into the caller's error (timeout, unreachable). */
    readonly failure: (error: unknown) => Error,
  ) {}

  async bytes(): Promise<Buffer> {
    if (!this.rest) return this.head;
    const chunks = [this.head];
    try {
      for await (const chunk of this.rest) chunks.push(chunk as Buffer);
    } catch (error) {
      throw this.failure(error);
    }
    return Buffer.concat(chunks);
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }
}

/** Reads a body until it ends or `limit` bytes have come, whichever is first; the rest stays paused in the stream. */
function readHead(body: Readable, limit: number): Promise<{ head: Buffer; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size < limit) return;
      body.pause();
      resolve({ head: settle(), ended: false });
    };
    const onEnd = () => resolve({ head: settle(), ended: true });
    const onError = (error: unknown) => {
      settle();
      reject(error);
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
  });
}

export class UpstreamTimeout extends Error {
  override name = 'TimeoutError';
}

/**
 * The exchange's deadline, given to undici as its signal in the EventEmitter form undici documents
 * beside AbortSignal (it listens for 'abort' and reads `reason`). An AbortController and its
 * EventTarget cost more per call than the rest of the exchange's bookkeeping.
 */
class Deadline extends EventEmitter {
  aborted = false;
  reason: UpstreamTimeout | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(ms: number) {
    super();
    this.#timer = setTimeout(() => {
      this.aborted = true;
      this.reason = new UpstreamTimeout('the upstream did not answer in time');
      this.emit('abort');
    }, ms);
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

/**
 * One exchange: redirects are not followed (a redirect to another host is not a way out), and the
 * whole exchange, body included, is aborted after `timeoutMs` with an `UpstreamTimeout`.
 */
export async function sendUpstream(
  url: URL,
  init: {
    method: string;
    headers: Iterable<[string, string]>;
    body: string | Buffer | undefined;
    timeoutMs: number;
    /** Another pool than the upstreams' (webhooks connect through their own address guard). */
    dispatcher?: Dispatcher;
  },
  failure: (error: unknown) => Error,
): Promise<UpstreamResponse> {
  // Loaded before the clock starts: the first call's module load is not the upstream's time.
  const { request, agent } = await upstreamClient();
  const deadline = new Deadline(init.timeoutMs);
  try {
    const answer = await request(url, {
      method: init.method as 'GET',
      headers: init.headers as Iterable<[string, string]> & Record<string, string>,
      body: init.body ?? null,
      dispatcher: init.dispatcher ?? agent,
      signal: deadline,
    });
    const { head, ended } = await readHead(answer.body, BUFFERED_BODY_BYTES);
    if (ended) deadline.clear();
    else {
      answer.body.once('close', () => deadline.clear());
      // A rest nobody reads (a status check) is ended by the timeout; its error is the reader's, if any.
      answer.body.on('error', () => undefined);
    }
    return new UpstreamResponse(answer.statusCode, new UpstreamHeaders(answer.headers), head, ended ? null : answer.body, (error) =>
      failure(deadline.reason ?? error),
    );
  } catch (error) {
    deadline.clear();
    throw failure(deadline.reason ?? error);
  }
}
