import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import { EVENTS_CHANNEL, type EventView } from './log.js';

type Listener = (events: EventView[]) => void;

/**
 * What the hub is built from. It lives in the app context, so it names its parts instead of
 * picking them from the context; the log is read through the events service (`createEventHub`).
 */
export interface EventHubDeps {
  /** Wakes the hub when any instance appends (the store's notifications). */
  store: Pick<Store, 'listen'>;
  logger: Logger;
  /** The newest sequence number: dispatching starts after it. */
  lastSeq(): Promise<number>;
  /** Events of every topic after a sequence number, one page; `next` is the page's last. */
  readAfter(after: number): Promise<{ data: EventView[]; next: number }>;
}

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

  constructor(private readonly deps: EventHubDeps) {}

  async start(): Promise<void> {
    this.#highWater = await this.deps.lastSeq();
    this.#stopListening = await this.deps.store.listen(EVENTS_CHANNEL, () => this.poke());
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
          this.deps.logger.error({ err: error }, 'could not read new events');
          return;
        }
        // What was not dispatched is read again from the same high-water mark once the database is back.
        this.deps.logger.warn({ err: error }, 'the database is unavailable: ending event streams with their cursor');
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
      const page = await this.deps.readAfter(this.#highWater);
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
