/** Registers every Patchbay element. This is also the entry of the script-tag bundle. */
import './components/connect-button/connect-button.js';
import './components/connector-picker/connector-picker.js';
import { defineWhenUsed } from './internal/define-when-used.js';

/**
 * `<partner-onboarding>` is used on one page (the partner's), so it loads when it appears there;
 * call this to load it yourself (for example before creating it inside your own shadow root).
 */
export const loadPartnerOnboarding = defineWhenUsed('partner-onboarding', () => import('./components/partner-onboarding/partner-onboarding.js'));

export { ConnectButton } from './components/connect-button/connect-button.component.js';
export { ConnectorPicker } from './components/connector-picker/connector-picker.component.js';
export type { PartnerOnboarding } from './components/partner-onboarding/partner-onboarding.component.js';
export { PatchbayElement } from './internal/patchbay-element.js';
export { registerTranslation } from './i18n/index.js';
export type { PatchbayConnectedEvent } from './events/patchbay-connected.js';
export type { PatchbayCancelEvent } from './events/patchbay-cancel.js';
export type { PatchbayDisconnectedEvent } from './events/patchbay-disconnected.js';
export type { PatchbayErrorEvent } from './events/patchbay-error.js';
export type { PatchbayOnboardingStepEvent } from './events/patchbay-onboarding-step.js';
export type { PatchbayRequestConnectEvent } from './events/patchbay-request-connect.js';
export type { PatchbayStepEvent } from './events/patchbay-step.js';
export type { ConnectorState, SessionConnector, TenantConnection } from './internal/api-client.js';
export type { FlowState, FlowStatus, FlowStep } from './state/flow.js';
