import type { Translation, TranslationKey } from './en.js';
import { enConnect } from './en-connect.js';

/**
 * Languages by BCP 47 tag. English ships in the bundle: `<connect-button>`'s texts at once, the
 * whole table (en.ts) with the first element that needs more (`useEnglish`); the other languages
 * load on first use, so a page pays only for the language it shows. Hosts may register their own tables.
 */
let english: Partial<Translation> = enConnect;
const translations = new Map<string, Partial<Translation>>([['en', english]]);

/** The whole English table, from an element that shows more than the button's texts (it imports en.ts). */
export function useEnglish(table: Translation): void {
  if (english === table) return;
  // A host's own English (registerTranslation) stays in place.
  if (translations.get('en') === english) translations.set('en', table);
  english = table;
}
const loaders: Record<string, () => Promise<Translation>> = {
  de: async () => (await import('./de.js')).de,
  es: async () => (await import('./es.js')).es,
  fr: async () => (await import('./fr.js')).fr,
  ja: async () => (await import('./ja.js')).ja,
};
const loading = new Map<string, Promise<void>>();

/** The languages Patchbay ships. */
export const shippedLanguages = ['en', ...Object.keys(loaders)];

/** Adds or replaces a language (hosts may ship their own). */
export function registerTranslation(lang: string, table: Translation): void {
  translations.set(lang.toLowerCase(), table);
}

/** The tag whose table answers for a locale: exact tag, then its language (`de-CH` → `de`). */
function tagFor(locale: string | undefined): string {
  const tag = (locale ?? 'en').toLowerCase();
  const language = tag.split('-')[0]!;
  if (translations.has(tag) || (tag in loaders && !translations.has(language))) return tag;
  return language;
}

/** Whether texts for the locale are ready (loaded, or nothing to load: English answers). */
export function isTranslationReady(locale: string): boolean {
  const tag = tagFor(locale);
  return translations.has(tag) || !(tag in loaders);
}

/** Loads a shipped language if the locale needs one; resolves at once when nothing is to load. */
export function loadTranslation(locale: string): Promise<void> {
  const tag = tagFor(locale);
  const load = loaders[tag];
  if (translations.has(tag) || !load) return Promise.resolve();
  let pending = loading.get(tag);
  if (!pending) {
    pending = load().then((table) => void translations.set(tag, table));
    loading.set(tag, pending);
  }
  return pending;
}

/** A text in a locale, English until the locale's table has loaded; `{name}` fills from values. */
export function t(key: TranslationKey, locale?: string, values: Record<string, string> = {}): string {
  const text = translations.get(tagFor(locale))?.[key] ?? english[key] ?? '';
  return text.replace(/\{(\w+)\}/g, (_match, name: string) => values[name] ?? '');
}

/** The language for an element: its `locale` property, else the nearest `lang` attribute, else the document's. */
export function localeOf(element: HTMLElement, locale?: string | null): string {
  if (locale) return locale;
  const withLang = element.closest('[lang]');
  return withLang?.getAttribute('lang') || document.documentElement.lang || 'en';
}

/** Error codes the widget itself raises, so their messages follow the page's language. */
const ERROR_TEXTS: Record<string, TranslationKey> = {
  invalid_session_token: 'error.invalidToken',
  install_timeout: 'error.timeout',
  network_error: 'error.network',
  session_expired: 'error.sessionExpired',
};

/** A flow error's message in the locale when the widget raised it; the server's own message otherwise. */
export function errorText(error: { code: string; message: string } | null | undefined, locale: string): string {
  if (!error) return '';
  const key = ERROR_TEXTS[error.code];
  return key ? t(key, locale) : error.message;
}

export type { Translation, TranslationKey };
