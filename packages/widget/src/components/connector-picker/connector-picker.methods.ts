import { css, html } from 'lit';
import type { TranslationKey } from '../../i18n/index.js';
import type { SessionConnector } from '../../internal/api-client.js';

/** What each auth method is called in the picker's method step. */
const METHOD_NAMES: Record<string, TranslationKey> = {
  oauth2: 'method.oauth2',
  apiKey: 'method.apiKey',
  basic: 'method.basic',
  bearer: 'method.bearer',
  custom: 'method.custom',
  none: 'method.none',
};

/** Whether choosing this connector asks for a method first: several methods, and not re-authorizing. */
export function asksForMethod(connector: SessionConnector, reauth: string | undefined): boolean {
  return connector.methods.length > 1 && !reauth;
}

export interface MethodStepOptions {
  text: (key: TranslationKey, values?: Record<string, string>) => string;
  choose: (method: string) => void;
  back: () => void;
  keydown: (event: KeyboardEvent) => void;
}

/**
 * The picker's second step for a connector with several auth methods: a labelled group of
 * buttons, one per method, in the server's order (the default first, marked Recommended), and
 * Back. Buttons, so each is in the tab order and a click is the user gesture the sign-in window
 * needs; the badge is part of the default's name ("API key Recommended"), as it reads on screen.
 */
export function renderMethodStep(connector: SessionConnector, options: MethodStepOptions) {
  const recommended = options.text('picker.methods.recommended');
  return html`
    <div part="methods" role="group" aria-labelledby="methods-heading" @keydown=${options.keydown}>
      <p part="methods-heading" id="methods-heading">${options.text('picker.methods.heading', { name: connector.name })}</p>
      <ul class="method-list">
        ${connector.methods.map((method, index) => {
          const name = options.text(METHOD_NAMES[method] ?? 'method.custom', { name: connector.name });
          return html`<li>
            <button
              part=${index === 0 ? 'method method-default' : 'method'}
              type="button"
              data-method=${method}
              @click=${() => options.choose(method)}
            >
              <span part="method-name">${name}</span>
              ${index === 0 ? html`<span part="method-badge">${recommended}</span>` : ''}
            </button>
          </li>`;
        })}
      </ul>
      <button part="back" type="button" @click=${options.back}>${options.text('picker.methods.back')}</button>
    </div>
  `;
}

/** Up and Down move between the step's buttons, as in a menu; the browser's Tab order still applies. */
export function moveMethodFocus(event: KeyboardEvent, root: ParentNode): boolean {
  if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return false;
  const buttons = [...root.querySelectorAll<HTMLButtonElement>('[part~="methods"] button')];
  const index = buttons.findIndex((button) => button.matches(':focus'));
  const next = buttons[Math.min(buttons.length - 1, Math.max(0, index + (event.key === 'ArrowDown' ? 1 : -1)))];
  next?.focus();
  event.preventDefault();
  return true;
}

export const methodStepStyles = css`
  [part~='methods'] {
    display: flex;
    flex-direction: column;
    gap: 0.5em;
    min-height: 0;
    overflow-y: auto;
  }

  [part~='methods-heading'] {
    margin: 0.3em 0.3em 0;
    font-weight: 600;
  }

  .method-list {
    display: flex;
    flex-direction: column;
    gap: 0.4em;
    margin: 0;
    padding: 0;
    list-style: none;
  }

  [part~='method'] {
    display: flex;
    align-items: center;
    justify-content: space-between;
    gap: 0.6em;
    box-sizing: border-box;
    width: 100%;
    padding: 0.6em 0.75em;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_panel-radius) - 2px);
    background: transparent;
    color: inherit;
    font: inherit;
    text-align: start;
    cursor: pointer;
  }

  [part~='method']:hover {
    background: var(--_active);
  }

  [part~='method-default'] {
    border-color: var(--_accent);
  }

  [part~='method-badge'] {
    padding: 0.15em 0.5em;
    border-radius: 999px;
    background: color-mix(in srgb, var(--_accent) 12%, var(--_panel));
    color: var(--_accent);
    font-size: 0.75em;
    font-weight: 600;
    white-space: nowrap;
  }

  [part~='back'] {
    align-self: flex-start;
    padding: 0.35em 0.2em;
    border: 0;
    background: transparent;
    color: var(--_accent);
    font: inherit;
    font-size: 0.85em;
    cursor: pointer;
  }

  [part~='method']:focus-visible,
  [part~='back']:focus-visible {
    outline: var(--_focus-ring);
    outline-offset: 2px;
  }
`;
