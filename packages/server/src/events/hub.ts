import type { AppContext } from '../context.js';
import type { Logger } from '../logger.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import { EVENTS_CHANNEL, type EventView, lastSeq, readEvents } from './service.js';

type Listener = (events: EventView[]) => void;

/**
 * Fans new events out to this instance's open streams. Whatever wakes it — a publish here, or a
 * notification from another instance through the store — it reads the log after the last event
 * it dispatched, so nothing depends on the wake-up carrying the event itself.
 */
export class EventHub {
  readonly #listeners = new Set<Listener>();
  readonly #onClose = new Set<() => void>();
  readonly #onUnavailable = new Set<() => void>();
  #highWater = 0;
  #reading: Promise<void> | null = null;
  #again = false;
  #stopListening: (() => Promise<void>) | null = null;
  #closed = false;

  constructor(
    private readonly ctx: Pick<AppContext, 'store'>,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.#highWater = await lastSeq(this.ctx);
    this.#stopListening = await this.ctx.store.listen(EVENTS_CHANNEL, () => this.poke());
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Runs `fn` when the hub closes (streams end themselves), or at once for a stream that opens
   * during shutdown; returns a function that forgets it.
   */
  onClose(fn: () => void): () => void {
    if (this.#closed) {
      queueMicrotask(fn);
      return () => undefined;
    }
    this.#onClose.add(fn);
    return () => this.#onClose.delete(fn);
  }

  /**
   * Runs `fn` each time reading the log fails because the database is away; the streams end with
   * their cursor and come back through Last-Event-ID. Returns a function that forgets it.
   */
  onUnavailable(fn: () => void): () => void {
    this.#onUnavailable.add(fn);
    return () => this.#onUnavailable.delete(fn);
  }

  /** Reads and dispatches what is new; one read at a time, with one more if poked meanwhile. */
  poke(): void {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#drain()
      .catch((error: unknown) => {
        if (!isStoreUnavailable(error)) {
          this.logger.error({ err: error }, 'could not read new events');
          return;
        }
        // What was not dispatched is read again from the same high-water mark once the database is back.
        this.logger.warn({ err: error }, 'the database is unavailable: ending event streams with their cursor');
        for (const fn of [...this.#onUnavailable]) fn();
      })
      .finally(() => {
        this.#reading = null;
        if (this.#again) {
          this.#again = false;
          this.poke();
        }
      });
  }

  async #drain(): Promise<void> {
    for (;;) {
      const page = await readEvents(this.ctx, { patterns: ['*'], after: this.#highWater, limit: 500, anyTopic: true });
      if (page.next === this.#highWater) return;
      this.#highWater = page.next;
      for (const listener of this.#listeners) listener(page.data);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#stopListening?.();
    for (const fn of [...this.#onClose]) fn();
    this.#listeners.clear();
  }
}
