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
 * Fans new events out to this instance's open streams, in the log's order, each event once.
 *
 * The events published here are handed over as they commit (`published`) and dispatched as they
 * are, without reading them back: the hub remembers the last sequence number it dispatched, and a
 * batch that continues it exactly is the log's next events. Anything else — a gap (another
 * instance appended in between, or a publish here has not reported yet), a notification through
 * the store from another instance — makes it read the log after that number, so what it
 * dispatches never depends on a wake-up carrying the right events.
 */
export class EventHub {
  readonly #listeners = new Set<Listener>();
  readonly #onClose = new Set<() => void>();
  readonly #onUnavailable = new Set<() => void>();
  #highWater = 0;
  /** Committed here, not dispatched yet: handed over one by one, dispatched together. */
  #published: EventView[] = [];
  #reading: Promise<void> | null = null;
  #again = false;
  #stopListening: (() => Promise<void>) | null = null;
  #closed = false;

  constructor(private readonly deps: EventHubDeps) {}

  async start(): Promise<void> {
    this.#highWater = await this.deps.lastSeq();
    this.#stopListening = await this.deps.store.listen(EVENTS_CHANNEL, (lastSeq) => this.#notified(lastSeq));
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

  /**
   * An event this instance committed (its publish was answered or is about to be). The events of a
   * group commit report one by one in the same turn; they are dispatched together once it ends.
   */
  published(event: EventView): void {
    this.#published.push(event);
    if (this.#published.length === 1) process.nextTick(() => this.#dispatchPublished());
  }

  #dispatchPublished(): void {
    const events = this.#published.sort((a, b) => a.seq - b.seq);
    this.#published = [];
    // A read under way may or may not reach these: one more read after it does.
    if (this.#reading) return this.poke();
    const fresh = events.filter((event) => event.seq > this.#highWater);
    if (fresh.length === 0) return;
    if (!fresh.every((event, index) => event.seq === this.#highWater + 1 + index)) return this.poke();
    this.#highWater = fresh.at(-1)!.seq;
    for (const listener of this.#listeners) listener(fresh);
  }

  /**
   * A notification through the store: an instance committed events up to `lastSeq` (appendEvent's
   * payload). Up to the mark already dispatched (this instance's own publishes) there is nothing to
   * read; without a number (the listener reconnected after an outage) something may have been missed.
   */
  #notified(lastSeq: string | undefined): void {
    const seq = lastSeq ? Number(lastSeq) : Number.NaN;
    if (Number.isSafeInteger(seq) && seq <= this.#highWater) return;
    this.poke();
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
