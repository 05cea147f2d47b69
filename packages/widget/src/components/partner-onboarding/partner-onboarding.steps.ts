import { html } from 'lit';
import type { TranslationKey } from '../../i18n/index.js';
import type { PartnerEnvironment } from '../../internal/partner-portal-client.js';

// What <partner-onboarding> walks through, and the small pure pieces its screens share.

/** The walk-through, in order; `welcome` … `done` are the five steps a partner sees. */
export const STEPS = ['welcome', 'details', 'keys', 'events', 'done'] as const;
export type OnboardingStep = (typeof STEPS)[number];
export type Screen = OnboardingStep | 'loading' | 'link-invalid' | 'session-expired' | 'error';

export const ENVIRONMENTS: PartnerEnvironment[] = ['dev', 'stage', 'prod'];
export const GRACE_CHOICES: Array<{ seconds: number; label: TranslationKey }> = [
  { seconds: 0, label: 'onboarding.keys.grace.none' },
  { seconds: 3600, label: 'onboarding.keys.grace.hour' },
  { seconds: 86_400, label: 'onboarding.keys.grace.day' },
  { seconds: 604_800, label: 'onboarding.keys.grace.week' },
];

/** A link code: `pbl_` and base62, as the server issues them. */
const LINK_CODE = /^pbl_[0-9A-Za-z]{20,64}$/;

/** The code in a URL's fragment (`#code=pbl_…`), or null. */
export function linkCodeOf(url: string): string | null {
  const hash = url.includes('#') ? url.slice(url.indexOf('#') + 1) : '';
  const code = new URLSearchParams(hash).get('code');
  return code && LINK_CODE.test(code) ? code : null;
}

/**
 * A topic that may break after each `/` on a narrow card (`app/shipment/` · `created`), not
 * mid-word, and never before a pattern's closing `*`.
 */
export function breakableTopic(topic: string) {
  const segments = topic.split('/');
  return segments.map((segment, index) => {
    const next = segments[index + 1];
    if (next === undefined) return segment;
    return next === '*' ? `${segment}/` : html`${segment}/<wbr />`;
  });
}
