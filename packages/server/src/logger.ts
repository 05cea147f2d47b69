import pino, { type DestinationStream, type Logger } from 'pino';
import { isoAt } from './store/time.js';

/**
 * Paths pino blanks in every log line. Request URLs are logged without their query string
 * (OAuth `code` and `state` travel there), and bodies are never logged.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  '*.accessKey',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.client_secret',
  '*.clientSecret',
  '*.code_verifier',
  '*.password',
  '*.secret',
  '*.key',
  'key',
  'token',
];

/**
 * Without a destination, logs go to stdout asynchronously: a line is queued and written with
 * whatever else queued meanwhile, instead of one blocking write per line on the request path (the
 * access log writes one per request). pino flushes what is queued when the process exits.
 */
export function createLogger(level: string, destination: DestinationStream = pino.destination({ dest: 1, sync: false })): Logger {
  return pino(
    {
      level,
      base: { service: 'patchbay' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // pino's isoTime, with the date formatted once a second (the access log stamps a line per request).
      timestamp: () => `,"time":"${isoAt(Date.now())}"`,
    },
    destination,
  );
}

export type { Logger };
