import { PartnerOnboarding } from './partner-onboarding.component.js';

export { PartnerOnboarding };
export default PartnerOnboarding;

PartnerOnboarding.define('partner-onboarding');

declare global {
  interface HTMLElementTagNameMap {
    'partner-onboarding': PartnerOnboarding;
  }
}
