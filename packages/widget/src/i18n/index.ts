import { en, type Translation, type TranslationKey } from './en.js';

/** Languages by BCP 47 tag; `en` is the fallback for anything missing. */
const translations = new Map<string, Translation>([['en', en]]);

/** Adds or replaces a language (hosts may ship their own). */
export function registerTranslation(lang: string, table: Translation): void {
  translations.set(lang.toLowerCase(), table);
}

/** The table for a locale: exact tag, then its language (`de-CH` → `de`), then English. */
function tableFor(locale: string | undefined): Translation {
  const tag = (locale ?? 'en').toLowerCase();
  return translations.get(tag) ?? translations.get(tag.split('-')[0]!) ?? en;
}

export function t(key: TranslationKey, locale?: string, values: Record<string, string> = {}): string {
  return tableFor(locale)[key].replace(/\{(\w+)\}/g, (_match, name: string) => values[name] ?? '');
}

/** The language for an element: its `locale` property, else the nearest `lang` attribute, else the document's. */
export function localeOf(element: HTMLElement, locale?: string | null): string {
  if (locale) return locale;
  const withLang = element.closest('[lang]');
  return withLang?.getAttribute('lang') || document.documentElement.lang || 'en';
}

export type { TranslationKey };
