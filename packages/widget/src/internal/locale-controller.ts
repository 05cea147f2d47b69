import type { ReactiveController, ReactiveElement } from 'lit';
import type { Translation } from '../i18n/en.js';
import { errorText, isTranslationReady, loadTranslation, localeOf, t, type TranslationKey, useEnglish } from '../i18n/index.js';

/**
 * The texts of one element in its language: the `locale` property, else the nearest `lang`.
 * Before each render it makes sure that language's table is loaded, and renders again once it is.
 */
export class LocaleController implements ReactiveController {
  #ready: Promise<void> = Promise.resolve();

  /** `english`: the whole English table (en.ts), for an element whose texts go beyond `<connect-button>`'s. */
  constructor(
    private readonly host: ReactiveElement & { locale: string },
    english?: Translation,
  ) {
    host.addController(this);
    if (english) useEnglish(english);
  }

  /** The element's language right now. */
  get locale(): string {
    return localeOf(this.host, this.host.locale);
  }

  /** Resolves when the current language's table is in (tests and stories await it). */
  get ready(): Promise<void> {
    return this.#ready;
  }

  hostUpdate(): void {
    const locale = this.locale;
    if (isTranslationReady(locale)) return;
    this.#ready = loadTranslation(locale).then(() => this.host.requestUpdate());
  }

  text(key: TranslationKey, values?: Record<string, string>): string {
    return t(key, this.locale, values);
  }

  error(error: { code: string; message: string } | null | undefined): string {
    return errorText(error, this.locale);
  }
}
