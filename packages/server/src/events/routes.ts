import express, { type Response, Router } from 'express';
import type { AppContext } from '../context.js';
import { authenticate, principalOf, refuse } from '../http/auth.js';
import { parseInput } from '../http/validation.js';
import { grants } from '../keys/scopes.js';
import type { EventHub } from './hub.js';
import { lastEventIdSchema, pollSchema, publishSchema, streamSchema } from './schema.js';
import { type EventView, lastSeq, publishEvent, readEvents } from './service.js';
import { patternCovers, topicMatches } from './topics.js';

const HEARTBEAT_MS = 15_000;

/**
 * Who may do what with events: an access key by its scopes, a partner key by the topic grants of
 * its environment (send to publish a topic, receive to read a topic or pattern within a grant).
 */
function mayPublish(res: Response, topic: string): boolean {
  const principal = principalOf(res);
  if (principal.kind === 'key') return grants(principal.scopes, 'events:publish');
  return principal.kind === 'partner' && principal.grants.some((grant) => grant.send && topicMatches(grant.topic, topic));
}

function mayConsume(res: Response, patterns: string[]): boolean {
  const principal = principalOf(res);
  if (principal.kind === 'key') return grants(principal.scopes, 'events:consume');
  return principal.kind === 'partner' && patterns.every((pattern) => principal.grants.some((grant) => grant.receive && patternCovers(grant.topic, pattern)));
}

function publisherOf(res: Response): string {
  const principal = principalOf(res);
  if (principal.kind === 'partner') return `partner:${principal.partnerId}:${principal.environment}`;
  return principal.kind === 'key' ? `key:${principal.key.id}` : 'session';
}

export function eventRoutes(ctx: AppContext, hub: EventHub): Router {
  const router = Router();
  // Scope and grants are checked per request below: the same route serves access and partner keys.
  const caller = authenticate(ctx, { partnerKey: true });

  router.post('/', express.json({ limit: ctx.config.eventPayloadMaxBytes + 4096 }), caller, async function publishEventHandler(req, res) {
    const input = parseInput(publishSchema, req.body ?? {});
    if (!mayPublish(res, input.topic)) throw refuse(ctx, req, res, 'insufficient_scope', `This key may not publish to ${input.topic}.`);
    const published = await publishEvent(ctx, { topic: input.topic, payload: input.payload, publisher: publisherOf(res) });
    hub.poke();
    res.status(201).json({ data: published });
  });

  router.get('/', caller, async function pollEventsHandler(req, res) {
    const query = parseInput(pollSchema, req.query);
    if (!mayConsume(res, query.topics)) throw refuse(ctx, req, res, 'insufficient_scope', 'This key may not read those topics.');
    const page = await readEvents(ctx, { patterns: query.topics, after: query.after, limit: query.limit });
    res.json({ data: page.data, next: String(page.next) });
  });

  /**
   * Server-Sent Events. Resumes after `Last-Event-ID` (or `?after=`): the backlog first, then live
   * events, each written once and in order (a per-stream queue; a sequence number at or below the
   * last one written is skipped), so a reconnect neither skips nor repeats an event.
   */
  router.get('/stream', caller, async function streamEventsHandler(req, res) {
    const query = parseInput(streamSchema, req.query);
    const header = req.get('last-event-id');
    const resumeAfter = header !== undefined ? parseInput(lastEventIdSchema, header) : query.after;
    if (!mayConsume(res, query.topics)) throw refuse(ctx, req, res, 'insufficient_scope', 'This key may not read those topics.');

    res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    res.write('retry: 2000\n\n');

    let lastWritten = resumeAfter ?? Number.POSITIVE_INFINITY;
    let queue = Promise.resolve();
    const write = (events: EventView[]) => {
      for (const event of events) {
        if (event.seq <= lastWritten || !query.topics.some((pattern) => topicMatches(pattern, event.topic))) continue;
        res.write(`id: ${event.seq}\nevent: ${event.topic}\ndata: ${JSON.stringify(event)}\n\n`);
        lastWritten = event.seq;
      }
    };
    // Subscribe before reading the backlog, so nothing committed in between is missed.
    const unsubscribe = hub.subscribe((events) => {
      queue = queue.then(() => write(events));
    });
    if (resumeAfter === undefined) {
      // A fresh stream starts at the present.
      lastWritten = await lastSeq(ctx);
    } else {
      queue = queue.then(async () => {
        for (let after = resumeAfter; ; ) {
          const page = await readEvents(ctx, { patterns: query.topics, after, limit: 500 });
          write(page.data);
          if (page.next === after) break;
          after = page.next;
        }
      });
    }
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
      forgetClose();
      res.end();
    };
    // The hub ends open streams on shutdown, so the server can finish closing.
    const forgetClose = hub.onClose(close);
    req.on('close', close);
  });

  return router;
}
