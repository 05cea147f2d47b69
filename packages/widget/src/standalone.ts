/**
 * The entry of the script-tag bundle (dist/standalone/patchbay.js): `<connect-button>`, which most
 * pages use alone, is defined at once; `<connector-picker>` and `<partner-onboarding>` load when
 * they appear in the document (already there, or added later), so a page downloads only the
 * elements it uses. The button itself loads its flow on the first click (internal/deferred-flow.ts).
 */
import './components/connect-button/connect-button.js';
import { defineWhenUsed } from './internal/define-when-used.js';

/** Loads and defines `<connector-picker>` (for hosts that create it inside their own shadow roots, which the page's observer cannot see). */
export const loadConnectorPicker = defineWhenUsed('connector-picker', () => import('./components/connector-picker/connector-picker.js'));

/** Loads and defines `<partner-onboarding>` (as `loadConnectorPicker`). */
export const loadPartnerOnboarding = defineWhenUsed('partner-onboarding', () => import('./components/partner-onboarding/partner-onboarding.js'));

export { ConnectButton } from './components/connect-button/connect-button.component.js';
export { PatchbayElement } from './internal/patchbay-element.js';
export { registerTranslation } from './i18n/index.js';
