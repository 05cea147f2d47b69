import { html } from 'lit';
import type { FlowController } from './flow-controller.js';
import type { LocaleController } from './locale-controller.js';

/**
 * The two choices a flow offers while it waits with no sign-in window known to be open (it looks
 * closed, which a provider's Cross-Origin-Opener-Policy also causes, or the page was reloaded):
 * open the sign-in window again, or cancel. Native buttons, so both are in the tab order.
 * Reopen calls `window.open` synchronously inside the click, or the popup blocker would stop it.
 */
export function renderFlowChoices(flow: FlowController, i18n: LocaleController) {
  return html`<span part="choices" role="group" aria-label=${i18n.text('flow.choices')}>
    <button part="reopen" type="button" @click=${() => flow.reopen()}>${i18n.text('flow.reopen')}</button>
    <button part="cancel" type="button" @click=${() => void flow.cancel()}>${i18n.text('flow.cancel')}</button>
  </span>`;
}
