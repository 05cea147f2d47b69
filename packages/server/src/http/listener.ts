import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

export type ServerTimeouts = Pick<Config, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'>;

/** What Node's HTTP parser (and its timers) reject before Express sees a request, as our error shape. */
function clientErrorOf(code: string | undefined): { status: number; code: string; message: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'request_timeout', message: 'The request was not received in time.' };
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'headers_too_large', message: 'The request headers are too large.' };
  return { status: 400, code: 'bad_request', message: 'The request is not valid HTTP.' };
}

/**
 * Answers a request the parser refused with `{error: {code, message}}`, as every other error, and
 * closes the connection (the parser cannot resume after an error). Where an answer has begun or
 * the socket is gone, there is nothing to say: the socket is destroyed. The raw packet is never
 * logged: it may hold a credential.
 */
function answerClientError(logger: Logger | undefined) {
  return function onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const answer = clientErrorOf(error.code);
    logger?.debug({ code: error.code, status: answer.status }, 'refused a malformed or slow request');
    const body = JSON.stringify({ error: { code: answer.code, message: answer.message } });
    socket.end(
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Cache-Control: no-store\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
  };
}

/**
 * The listener's limits: slow headers and slow bodies are cut (408) instead of holding a socket
 * for Node's 300 s default, idle keep-alive connections close, and parser-level refusals answer in
 * JSON. Event streams are unaffected: their request is complete once the headers are in, and the
 * request timeout covers only receiving the request. Call before `listen`: Node reads the check
 * interval when it starts listening.
 */
export function applyServerLimits(server: Server, timeouts: ServerTimeouts, logger?: Logger): void {
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  // Node checks these deadlines on an interval (30 s by default), which would let a 10 s limit
  // run to 40 s; a quarter of the shortest limit, at most a second, keeps them close.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    50,
    Math.min(1000, Math.floor(Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) / 4)),
  );
  server.on('clientError', answerClientError(logger));
}
