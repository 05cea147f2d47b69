import { expect, fixture, html } from '@open-wc/testing';
import type { ConnectButton } from '../components/connect-button/connect-button.component.js';
import type { ConnectorPicker } from '../components/connector-picker/connector-picker.component.js';
import '../components/connect-button/connect-button.js';
import '../components/connector-picker/connector-picker.js';
import { newToken } from '../test-support/stand-in.js';
import { de } from './de.js';
import { en } from './en.js';
import { es } from './es.js';
import { fr } from './fr.js';
import { ja } from './ja.js';
import { errorText, loadTranslation, shippedLanguages, t } from './index.js';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe('translations', () => {
  it('ships English, German, French, Spanish and Japanese', () => {
    expect(shippedLanguages).to.have.members(['en', 'de', 'fr', 'es', 'ja']);
  });

  for (const [lang, table] of Object.entries({ de, fr, es, ja }) as Array<[string, Record<string, string>]>) {
    it(`has every English key in ${lang}, no extra key, no empty text, and the same {placeholders}`, () => {
      expect(Object.keys(table).sort()).to.deep.equal(Object.keys(en).sort(), `${lang} keys differ from English`);
      for (const [key, english] of Object.entries(en)) {
        expect(table[key]!.trim(), `${lang} ${key} is empty`).to.not.equal('');
        expect(placeholders(table[key]!), `${lang} ${key}`).to.deep.equal(placeholders(english));
      }
    });
  }

  it('falls back from a regional tag to its language, and to English for a language it does not ship', async () => {
    await loadTranslation('de-CH');
    expect(t('connect.label', 'de-CH')).to.equal('Verbinden');
    expect(t('connect.label', 'pt-BR')).to.equal('Connect');
  });

  it('translates the errors the widget raises itself, and keeps the server’s own messages', async () => {
    await loadTranslation('fr');
    expect(errorText({ code: 'network_error', message: 'x' }, 'fr')).to.equal('Le serveur Patchbay est injoignable.');
    expect(errorText({ code: 'provider_error', message: 'The provider said no.' }, 'fr')).to.equal('The provider said no.');
  });

  it('follows the nearest lang attribute, including aria-labels, and the locale property wins over it', async () => {
    const { token } = newToken();
    const wrapper = await fixture<HTMLDivElement>(html`<div lang="ja"><connector-picker integration="test" session-token=${token}></connector-picker></div>`);
    const picker = wrapper.querySelector<ConnectorPicker>('connector-picker')!;
    await picker.i18n.ready;
    await picker.updateComplete;
    const root = picker.shadowRoot!;
    expect(root.querySelector('[part~="trigger"]')!.textContent!.trim()).to.equal('アプリを接続');
    expect(root.querySelector('[part~="search"]')!.getAttribute('aria-label')).to.equal('アプリを検索');
    expect(root.querySelector('[part~="popover"]')!.getAttribute('aria-label')).to.equal('接続するアプリを選択');

    picker.locale = 'es';
    await picker.updateComplete;
    await picker.i18n.ready;
    await picker.updateComplete;
    expect(root.querySelector('[part~="trigger"]')!.textContent!.trim()).to.equal('Conectar una aplicación');
  });

  it('renders <connect-button> in German from the document’s lang', async () => {
    const { token } = newToken();
    const el = await fixture<ConnectButton>(html`<connect-button integration="test" session-token=${token} locale="de"></connect-button>`);
    await el.i18n.ready;
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[part~="base"]')!.textContent!.trim()).to.equal('Verbinden');
  });
});
