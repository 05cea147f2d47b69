/**
 * A webhook receiver on loopback, as a customer's endpoint would be: it records every request
 * (headers, raw body) and answers what the test tells it to, one answer per request in order,
 * then 200. `verify` checks a delivery the way a receiver following Standard Webhooks does.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { closeServer, listenOnLoopback } from './harness.js';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The test clock's time when it arrived (the real time unless a clock is given). */
  at: number;
}

/** `status` answers at once; `hang` never answers (the sender's timeout ends it); `redirect` answers 302 to it. */
export type Reply = { status: number; body?: string } | { hang: true } | { redirect: string };

export interface Receiver {
  url: string;
  received: Received[];
  /** Answers for the next requests, in order (then 200). */
  reply(...replies: Reply[]): void;
  close(): Promise<void>;
}

export async function startReceiver(clock: { now(): number } = { now: () => Date.now() }): Promise<Receiver> {
  const received: Received[] = [];
  const replies: Reply[] = [];
  const { server, origin } = await listenOnLoopback();
  server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: clock.now() });
      const reply = replies.shift() ?? { status: 200, body: 'ok' };
      if ('hang' in reply) return;
      if ('redirect' in reply) {
        res.writeHead(302, { location: reply.redirect }).end();
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'text/plain' }).end(reply.body ?? '');
    });
  });
  return {
    url: `${origin}/hooks`,
    received,
    reply: (...next) => replies.push(...next),
    close: () => closeServer(server),
  };
}

/**
 * Verifies a delivery with the standardwebhooks library; answers the parsed payload or throws. The
 * payload's `id` must be the `webhook-id` it was signed with.
 */
export function verify(secret: string, delivery: Received): { type: string; id: string; timestamp: string; data: Record<string, unknown> } {
  const headers = {
    'webhook-id': String(delivery.headers['webhook-id']),
    'webhook-timestamp': String(delivery.headers['webhook-timestamp']),
    'webhook-signature': String(delivery.headers['webhook-signature']),
  };
  const message = new Webhook(secret).verify(delivery.body, headers) as { type: string; id: string; timestamp: string; data: Record<string, unknown> };
  if (message.id !== headers['webhook-id']) throw new Error(`the payload's id ${message.id} is not the webhook-id ${headers['webhook-id']}`);
  return message;
}
