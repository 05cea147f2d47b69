import { type Request, type RequestHandler, type Response, Router } from 'express';
import { jsonBody } from '../http/body.js';
import type { AppContext } from '../context.js';
import { authenticate, type Principal, principalOf, recordAuthSuccessNow, refuse } from '../http/auth.js';
import { badRequest } from '../http/errors.js';
import { type FastLane, laneRequest, runHandlers } from '../http/fast-lane.js';
import type { RequestObserver } from '../http/request-observer.js';
import { parseInput } from '../http/validation.js';
import { grants } from '../keys/scopes.js';
import { recheckPartnerKey } from '../partners/key-check.js';
import { consumeSubscriptionsOf } from '../partners/portal.js';
import type { GrantView } from '../partners/views.js';
import type { EventHub } from './hub.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import { assertCursorKept } from './retention.js';
import { lastEventIdSchema, pollSchema, publishSchema, streamSchema } from './schema.js';
import { type EventView, sseFrameOf } from './log.js';
import { lastSeq, publishEvent, readEvents } from './service.js';
import { patternCovers, topicMatches } from './topics.js';
import type { z } from 'zod';
import type { eventPageSchema, publishedEventSchema } from './schema.js';

/**
 * Who may do what with events: an access key by its scopes, a partner key by the topic grants of
 * its environment (send to publish a topic, receive to read a topic or pattern within a grant).
 */
function mayPublish(principal: Principal, topic: string): boolean {
  if (principal.kind === 'key') return grants(principal.scopes, 'events:publish');
  return principal.kind === 'partner' && principal.grants.some((grant) => grant.send && topicMatches(grant.topic, topic));
}

function mayConsume(principal: Principal, patterns: string[]): boolean {
  if (principal.kind === 'key') return grants(principal.scopes, 'events:consume');
  return principal.kind === 'partner' && receiveCovers(principal.grants, patterns);
}

function receiveCovers(granted: GrantView[], patterns: string[]): boolean {
  return patterns.every((pattern) => granted.some((grant) => grant.receive && patternCovers(grant.topic, pattern)));
}

function publisherOf(principal: Principal): string {
  if (principal.kind === 'partner') return `partner:${principal.partnerId}:${principal.environment}`;
  return principal.kind === 'key' ? `key:${principal.key.id}` : 'session';
}

/**
 * The topics to read: the `topics` parameter, or for a partner key without one, the topics the
 * partner chose to consume in its portal.
 */
async function topicsOf(ctx: AppContext, principal: Principal, topics: string[] | undefined): Promise<string[]> {
  if (topics) return topics;
  if (principal.kind === 'partner') {
    const chosen = await consumeSubscriptionsOf(ctx, principal.partnerId);
    if (chosen.length > 0) return chosen;
  }
  throw badRequest('invalid_request', 'topics: give a comma list of topics or patterns, like app/order/*.');
}

/**
 * Whether an open stream's caller may still read: the key still works (not inactivated, expired,
 * or, for a partner, suspended) and still holds the scope or the receive grants.
 */
async function stillAllowed(ctx: AppContext, principal: Principal, patterns: string[]): Promise<boolean> {
  if (principal.kind === 'partner') {
    const check = await recheckPartnerKey(ctx, principal.keyId);
    return check.ok && receiveCovers(check.grants, patterns);
  }
  if (principal.kind === 'key') {
    const check = await ctx.keys.verifyKeyId(principal.key.id);
    return check.ok && grants(check.key.scopes, 'events:consume');
  }
  return false;
}

function refuseToRead(ctx: AppContext, req: Request, res: Response): Error {
  return refuse(ctx, req, res, 'insufficient_scope', 'This key may not read those topics.');
}

/**
 * A 201 with a JSON body, written directly: res.json looks the content type up and hashes every
 * answer into an ETag (meaningless on a POST), which was a measurable part of each publish.
 */
function answerCreated(res: Response, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = 201;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * Publishing's middleware and handler, for the route and for its fast lane alike. Scope and grants
 * are checked in the handler: the same route serves access and partner keys.
 */
function publishHandlers(ctx: AppContext, hub: EventHub): RequestHandler[] {
  return [
    // The body limit leaves room for the envelope; the payload's own cap is checked exactly in the service.
    jsonBody({ limit: ctx.config.eventPayloadMaxBytes + 4096 }),
    authenticate(ctx, { partnerKey: true }),
    async function publishEventHandler(req, res) {
      const input = parseInput(publishSchema, req.body ?? {});
      const principal = principalOf(res);
      if (!mayPublish(principal, input.topic)) throw refuse(ctx, req, res, 'insufficient_scope', `This key may not publish to ${input.topic}.`);
      const event = await publishEvent(ctx, { topic: input.topic, payload: input.payload, publisher: publisherOf(principal) });
      hub.published(event);
      ctx.metrics.eventsPublished.inc();
      answerCreated(res, { data: { id: event.id, seq: event.seq } } satisfies z.output<typeof publishedEventSchema>);
    },
  ];
}

/** The publish route, as routes.ts lists it and metrics label it. */
const PUBLISH_ROUTE = '/v1/events';

/**
 * Publishing's fast lane (http/fast-lane.ts says why): partners publish all day, and Express's
 * request handling cost as much as the rest of a publish. The same middleware and handler as the
 * route, run on Node's own request and response, for a POST to the plain path; any other form
 * (another letter case, a trailing slash) takes the route.
 */
export function publishLane(ctx: AppContext, hub: EventHub, observer: RequestObserver): FastLane {
  const handlers = publishHandlers(ctx, hub);
  return function publishLane(incoming, res, fail) {
    if (incoming.method !== 'POST') return false;
    const url = incoming.url!;
    if (url !== PUBLISH_ROUTE && !url.startsWith(`${PUBLISH_ROUTE}?`)) return false;
    observer.watch(incoming, res, PUBLISH_ROUTE);
    // As Express gives it for the route at the events router's root (auth events record the path).
    runHandlers(handlers, laneRequest(incoming, res, {}, PUBLISH_ROUTE), res, fail);
    return true;
  };
}

export function eventRoutes(ctx: AppContext, hub: EventHub): Router {
  const router = Router();
  // Scope and grants are checked per request below: the same route serves access and partner keys.
  const caller = authenticate(ctx, { partnerKey: true });
  const heartbeatMs = ctx.config.eventHeartbeatSeconds * 1000;

  router.post('/', ...publishHandlers(ctx, hub));

  router.get('/', caller, async function pollEventsHandler(req, res) {
    const query = parseInput(pollSchema, req.query);
    const principal = principalOf(res);
    const topics = await topicsOf(ctx, principal, query.topics);
    if (!mayConsume(principal, topics)) throw refuseToRead(ctx, req, res);
    // A cursor the caller gave must still point into the log; without one, reading starts at the oldest kept.
    if (req.query.after !== undefined) await assertCursorKept(ctx.store, query.after);
    const page = await readEvents(ctx, { patterns: topics, after: query.after, limit: query.limit });
    ctx.metrics.eventsDelivered.inc({ via: 'poll' }, page.data.length);
    res.json({ data: page.data, next: String(page.next) } satisfies z.output<typeof eventPageSchema>);
  });

  /**
   * Server-Sent Events. Resumes after `Last-Event-ID` (or `?after=`), or starts at the present.
   * Everything written goes through one per-stream queue: first the backlog read from the store,
   * then live events from the hub; a sequence number at or below the last one written is skipped.
   * So a reconnect neither skips nor repeats an event, and the order is the log's order.
   */
  router.get('/stream', caller, async function streamEventsHandler(req, res) {
    const query = parseInput(streamSchema, req.query);
    const header = req.get('last-event-id');
    const resumeAfter = header !== undefined && header !== '' ? parseInput(lastEventIdSchema, header) : query.after;
    const principal = principalOf(res);
    const topics = await topicsOf(ctx, principal, query.topics);
    if (!mayConsume(principal, topics)) throw refuseToRead(ctx, req, res);
    if (resumeAfter !== undefined) await assertCursorKept(ctx.store, resumeAfter);
    recordAuthSuccessNow(res);

    res
      .status(200)
      .set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    ctx.metrics.openStreams.inc();

    let closed = false;
    let lastWritten = Number.POSITIVE_INFINITY;
    const bound = ctx.config.eventStreamBufferBytes;
    /** Live events are pushed at the publishers' pace: a reader that lets them pile up is ended (see endSlowReader). */
    const write = (events: EventView[], live: boolean) => {
      let written = 0;
      for (const event of events) {
        if (closed || event.seq <= lastWritten || !topics.some((pattern) => topicMatches(pattern, event.topic))) continue;
        res.write(sseFrameOf(event));
        lastWritten = event.seq;
        written++;
        if (live && res.writableLength > bound) break;
      }
      if (written > 0) ctx.metrics.eventsDelivered.inc({ via: 'stream' }, written);
      if (live && written > 0 && res.writableLength > bound) endSlowReader();
    };
    /** Whether the reader took what was written within `ms` (false: it did not, or it left). */
    const drained = (ms: number) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => finish(false), ms);
        const onDrain = () => finish(true);
        const onClose = () => finish(false);
        function finish(ok: boolean) {
          clearTimeout(timer);
          res.off('drain', onDrain);
          res.off('close', onClose);
          resolve(ok);
        }
        res.once('drain', onDrain);
        res.once('close', onClose);
      });
    /**
     * The reader is not keeping up: what it has not read waits in this process's memory. Past the
     * bound the stream ends with a last event naming the cursor; everything written before it still
     * reaches the reader, so reconnecting with Last-Event-ID (EventSource does) loses nothing.
     * A reader that reads nothing at all is disconnected after a while.
     */
    const endSlowReader = () => {
      if (closed) return;
      res.write(resumeEvent('slow_reader'));
      ctx.metrics.slowReadersEnded.inc();
      const stuck = setTimeout(() => res.destroy(), 60_000);
      stuck.unref();
      res.once('close', () => clearTimeout(stuck));
      close();
    };
    let queue = Promise.resolve();
    const enqueue = (step: () => unknown) => {
      queue = queue
        .then(async () => {
          await step();
        })
        .catch((error: unknown) => {
          if (isStoreUnavailable(error)) {
            endResumable('store_unavailable');
            return;
          }
          ctx.logger.warn({ err: error }, 'an event stream failed');
          close();
        });
    };
    // Subscribe before choosing the starting point: an event committed meanwhile is either in the
    // backlog read below or dispatched by the hub after this line, so none falls in between.
    const unsubscribe = hub.subscribe((events) => enqueue(() => write(events, true)));
    enqueue(async () => {
      const start = resumeAfter ?? (await lastSeq(ctx));
      lastWritten = start;
      for (let after = start; !closed;) {
        const page = await readEvents(ctx, { patterns: topics, after, limit: 500 });
        write(page.data, false);
        // The backlog is read at the reader's pace: past the bound, wait until it has taken what
        // was written (live events queue behind); one that takes nothing for a minute is ended.
        if (res.writableLength > bound && !(await drained(60_000))) return endSlowReader();
        if (page.next === after) break;
        after = page.next;
      }
    });

    // Each heartbeat also asks again whether the caller may still read: a suspension, an expired
    // or inactivated key or a revoked grant ends the stream within one heartbeat.
    const heartbeat = setInterval(() => {
      enqueue(async () => {
        if (closed) return;
        if (!(await stillAllowed(ctx, principal, topics))) {
          res.write(': access ended\n\n');
          close();
          return;
        }
        res.write(': keep-alive\n\n');
      });
    }, heartbeatMs);
    function close() {
      if (closed) return;
      closed = true;
      ctx.metrics.openStreams.dec();
      clearInterval(heartbeat);
      unsubscribe();
      forgetClose();
      forgetUnavailable();
      res.end();
    }
    /**
     * Ends the stream with its cursor, so the client resumes exactly there: EventSource reconnects
     * by itself (after `retry`) and sends this id as Last-Event-ID, even when no event was written.
     */
    function endResumable(reason: 'store_unavailable') {
      if (closed) return;
      res.write(resumeEvent(reason));
      close();
    }
    /** The last event of a stream that ends early: why, and the cursor to resume after (also as its id). */
    function resumeEvent(reason: 'slow_reader' | 'store_unavailable'): string {
      const cursor = Number.isFinite(lastWritten) ? lastWritten : (resumeAfter ?? null);
      const id = cursor === null ? '' : `id: ${cursor}\n`;
      return `${id}event: patchbay.resume\ndata: ${JSON.stringify({ reason, after: cursor })}\n\n`;
    }
    // The hub could not read the log (the database went away): end now rather than fall silent.
    const forgetUnavailable = hub.onUnavailable(() => enqueue(() => endResumable('store_unavailable')));
    // The hub ends open streams on shutdown, so the server can finish closing.
    const forgetClose = hub.onClose(close);
    res.on('close', close);
  });

  return router;
}
