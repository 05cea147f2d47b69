import { html, nothing } from 'lit';
import type { TranslationKey } from '../../i18n/index.js';
import type { SessionConnector } from '../../internal/api-client.js';

/** What choosing a connector does for this tenant, and the words for it. */
export type ConnectorChoice = 'connect' | 'add-connection' | 'reconnect';

export function choiceFor(connector: SessionConnector): ConnectorChoice {
  if (connector.state === 'needs_reauth' || connector.state === 'expiring') return 'reconnect';
  return connector.state === 'connected' ? 'add-connection' : 'connect';
}

/** The connection a Reconnect re-authorizes: the one the connector's state is about. */
export function reauthTargetOf(connector: SessionConnector): string | undefined {
  if (choiceFor(connector) !== 'reconnect') return undefined;
  const wanted = connector.state === 'expiring' ? 'expiring' : 'needs_reauth';
  return connector.connections.find((connection) => connection.status === wanted)?.id;
}

const ACTION_LABELS: Record<ConnectorChoice, TranslationKey> = {
  connect: 'picker.action.connect',
  'add-connection': 'picker.action.addConnection',
  reconnect: 'picker.action.reconnect',
};

const STATE_LABELS: Partial<Record<SessionConnector['state'], TranslationKey>> = {
  connected: 'picker.state.connected',
  expiring: 'picker.state.expiring',
  needs_reauth: 'picker.state.needsReauth',
};

/** Where each listbox key moves the active option, from its index (-1: none) among `count` matches. */
const LISTBOX_MOVES: Record<string, (index: number, count: number) => number> = {
  ArrowDown: (index) => (index < 0 ? 0 : index + 1),
  ArrowUp: (index, count) => (index < 0 ? count - 1 : index - 1),
  Home: () => 0,
  End: (_index, count) => count - 1,
  PageDown: (index) => index + 5,
  PageUp: (index) => index - 5,
};

/**
 * The combobox's arrow, Home, End and Page keys: the slug of the option `key` makes active among
 * `matches` (clamped to the list; null when nothing matches), or undefined when the key is not one of them.
 */
export function moveActive(key: string, matches: readonly SessionConnector[], active: string | null): string | null | undefined {
  const move = LISTBOX_MOVES[key];
  if (!move) return undefined;
  if (matches.length === 0) return null;
  const index = matches.findIndex((connector) => connector.slug === active);
  return matches[Math.min(matches.length - 1, Math.max(0, move(index, matches.length)))]!.slug;
}

/** Case- and accent-blind, so "sales" finds "Salesforce" and "cafe" finds "Café". */
export function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase();
}

// The listbox follows the combobox pattern: keys go to the search field, which moves the active
// option (aria-activedescendant), so an option itself only needs a click handler.
/* eslint-disable lit-a11y/click-events-have-key-events */
export function renderOption(
  connector: SessionConnector,
  options: { active: boolean; text: (key: TranslationKey) => string; choose: () => void; hover: () => void },
) {
  const choice = choiceFor(connector);
  const stateKey = STATE_LABELS[connector.state];
  return html`
    <li
      id=${`option-${connector.slug}`}
      part=${options.active ? 'option option-active' : 'option'}
      role="option"
      aria-selected=${options.active ? 'true' : 'false'}
      data-slug=${connector.slug}
      data-choice=${choice}
      @click=${options.choose}
      @pointermove=${options.hover}
    >
      ${
        connector.iconUrl
          ? html`<img part="icon" src=${connector.iconUrl} alt="" width="28" height="28" loading="lazy" referrerpolicy="no-referrer" />`
          : html`<span part="icon" aria-hidden="true">${connector.name.slice(0, 1).toUpperCase()}</span>`
      }
      <span class="text">
        <!-- The state badge shares the name's line and wraps under it on a narrow popover. -->
        <span class="title">
          <span part="name">${connector.name}</span>
          ${stateKey ? html`<span part="state" data-state=${connector.state}>${options.text(stateKey)}</span>` : nothing}
        </span>
        <span part="description">${connector.description}${connector.domain ? html` <span class="domain">· ${connector.domain}</span>` : nothing}</span>
      </span>
      <span part="action">${options.text(ACTION_LABELS[choice])}</span>
    </li>
  `;
}
/* eslint-enable lit-a11y/click-events-have-key-events */
