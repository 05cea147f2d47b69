/**
 * The HTTP client for third-party APIs: undici's pooled Agent (the engine under Node's `fetch`),
 * driven through its dispatcher interface without the per-call objects of `fetch` or of undici's
 * own `request`; kept-alive connections per upstream origin; answers whose bodies are streamed
 * rather than read whole and re-wrapped.
 */
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/**
 * One pool per upstream origin, shared by every call in the process (as `fetch`'s global dispatcher
 * is): a connection opened for one tenant's call is reused by the next. Idle sockets do not keep
 * the process alive.
 */
let upstream: Promise<Dispatcher> | undefined;
/** undici and the pool, loaded on the first upstream call: a start (and a server that never proxies) skips loading it. */
const upstreamAgent = () =>
  (upstream ??= import('undici').then(({ Agent }) => new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, connections: 256 })));

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

export class UpstreamTimeout extends Error {
  override name = 'TimeoutError';
}

/**
 * One exchange as undici's dispatcher reports it (its documented handler interface), turned into
 * an `UpstreamResponse`: the body is gathered into `head` until it ends or reaches
 * BUFFERED_BODY_BYTES; past that, the answer is passed on with the rest as a stream that pauses the
 * upstream socket while its reader lags. Undici's own `request` builds that stream, an async
 * resource and a copy of the options for every call, which cost more than the rest of the exchange.
 *
 * The deadline covers the whole exchange, body included: when it passes, the caller gets an
 * `UpstreamTimeout` (at once, even if the connection is still being set up) and the exchange is
 * aborted as soon as undici lets it be.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly answer: Promise<UpstreamResponse>;
  #resolve!: (response: UpstreamResponse) => void;
  #reject!: (error: Error) => void;
  #settled = false;
  #controller: Dispatcher.DispatchController | null = null;
  #status = 0;
  #headers: UpstreamHeaders | null = null;
  #chunks: Buffer[] = [];
  #size = 0;
  #rest: Readable | null = null;
  #ended = false;
  #timedOut: UpstreamTimeout | null = null;
  readonly #timer: NodeJS.Timeout;

  constructor(
    timeoutMs: number,
    private readonly failure: (error: unknown) => Error,
  ) {
    this.answer = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#timer = setTimeout(() => this.#timeOut(), timeoutMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#timedOut) controller.abort(this.#timedOut);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: RawHeaders): void {
    // 1xx answers (100 Continue, 103 Early Hints) come before the real one.
    if (statusCode < 200) return;
    this.#status = statusCode;
    this.#headers = new UpstreamHeaders(headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#rest) {
      if (!this.#rest.push(chunk)) controller.pause();
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size < BUFFERED_BODY_BYTES) return;
    // A large body: passed on now, the rest as it arrives, at the pace its reader takes it.
    this.#rest = new Readable({
      read: () => controller.resume(),
      destroy: (error, done) => {
        clearTimeout(this.#timer);
        // A reader that stops early (a 401 retried, a caller gone) ends the upstream exchange too.
        if (!this.#ended) controller.abort(error ?? new Error('the upstream body was not read'));
        done(error);
      },
    });
    // A rest nobody reads (a status check) is ended by the timeout; its error is the reader's, if any.
    this.#rest.on('error', () => undefined);
    this.#settle();
  }

  onResponseEnd(): void {
    this.#ended = true;
    clearTimeout(this.#timer);
    if (this.#rest) this.#rest.push(null);
    else this.#settle();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    clearTimeout(this.#timer);
    const reason = this.#timedOut ?? error;
    if (this.#rest) this.#rest.destroy(reason);
    else if (!this.#settled) {
      this.#settled = true;
      this.#reject(this.failure(reason));
    }
  }

  #settle(): void {
    this.#settled = true;
    const head = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
    this.#chunks = [];
    const rest = this.#rest;
    this.#resolve(new UpstreamResponse(this.#status, this.#headers!, head, rest, (error) => this.failure(this.#timedOut ?? error)));
  }

  #timeOut(): void {
    this.#timedOut = new UpstreamTimeout('the upstream did not answer in time');
    if (this.#controller) this.#controller.abort(this.#timedOut);
    // Not connected yet: the caller is answered now; the exchange is aborted when it starts.
    if (!this.#settled) {
      this.#settled = true;
      this.#reject(this.failure(this.#timedOut));
    }
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
  const dispatcher = init.dispatcher ?? (await upstreamAgent());
  const exchange = new Exchange(init.timeoutMs, failure);
  dispatcher.dispatch(
    {
      origin: url.origin,
      path: url.pathname + url.search,
      method: init.method as Dispatcher.HttpMethod,
      headers: init.headers as Iterable<[string, string]> & Record<string, string>,
      body: init.body ?? null,
    },
    exchange,
  );
  return exchange.answer;
}
