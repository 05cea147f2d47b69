/**
 * The settings of the server's background work — connection health (connections/health-check.ts)
 * and webhook delivery (webhooks/dispatcher.ts) — as entries of the one settings table, which
 * spreads them in place (settings.ts).
 */
import { z } from 'zod';
import { setting, whole } from './settings-kit.js';

export const HEALTH_SETTINGS = {
  refreshAheadSeconds: setting({
    env: 'PATCHBAY_REFRESH_AHEAD_SECONDS',
    default: '600',
    schema: whole(0, 86_400),
    help: 'OAuth tokens are refreshed in the background once less than this many seconds of their lifetime remain.',
  }),
  refreshAheadPercent: setting({
    env: 'PATCHBAY_REFRESH_AHEAD_PERCENT',
    default: '10',
    schema: whole(0, 90),
    help: '…or once less than this percentage of their lifetime remains, whichever comes first.',
  }),
  healthCheckIntervalMs: setting({
    env: 'PATCHBAY_HEALTH_CHECK_INTERVAL_MS',
    default: '30000',
    schema: whole(0, 3_600_000),
    help: 'How often the health scheduler looks for connections due a refresh or a verification (0: never on this instance).',
  }),
  healthCheckBatch: setting({
    env: 'PATCHBAY_HEALTH_CHECK_BATCH',
    default: '100',
    schema: whole(1, 10_000),
    help: 'At most this many connections are claimed and checked per tick.',
  }),
  requestLogSize: setting({
    env: 'PATCHBAY_REQUEST_LOG_SIZE',
    default: '100',
    schema: whole(0, 10_000),
    help: 'The last this many upstream calls are kept per connection (`GET /v1/connections/{id}/requests`; 0: none).',
  }),
  requestLogDays: setting({
    env: 'PATCHBAY_REQUEST_LOG_DAYS',
    default: '30',
    schema: whole(1, 3650),
    help: 'Recorded upstream calls older than this many days are deleted.',
  }),
};

export const WEBHOOK_SETTINGS = {
  webhookTimeoutMs: setting({
    env: 'PATCHBAY_WEBHOOK_TIMEOUT_MS',
    default: '10000',
    schema: whole(100, 60_000),
    help: 'How long one webhook delivery attempt may take (the whole exchange) before it counts as failed.',
  }),
  webhookSecretGraceHours: setting({
    env: 'PATCHBAY_WEBHOOK_SECRET_GRACE_HOURS',
    default: '24',
    schema: whole(0, 720),
    help: "After a webhook endpoint's secret is rotated, how long the old secret still signs beside the new one.",
  }),
  webhookDisableAfterDays: setting({
    env: 'PATCHBAY_WEBHOOK_DISABLE_AFTER_DAYS',
    default: '5',
    schema: whole(1, 90),
    help: 'A webhook endpoint whose deliveries have all failed for this many days is disabled.',
  }),
  webhookAllowedHosts: setting({
    env: 'PATCHBAY_WEBHOOK_ALLOWED_HOSTS',
    default: '',
    schema: z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((entry) => entry.trim().toLowerCase())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(/^[a-z0-9.:[\]-]+$/, 'a host name or IP address'))),
    help: 'Hosts (comma-separated) webhooks may reach though they resolve to internal addresses; still https only.',
  }),
  webhookPollMs: setting({
    env: 'PATCHBAY_WEBHOOK_POLL_MS',
    default: '1000',
    schema: whole(10, 60_000),
    help: 'How often each instance looks for webhook deliveries that are due.',
  }),
};
