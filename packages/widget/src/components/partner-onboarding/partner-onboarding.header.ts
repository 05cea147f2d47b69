import { html, nothing } from 'lit';
import type { TranslationKey } from '../../i18n/index.js';
import type { PortalState } from '../../internal/partner-portal-client.js';

const initialOf = (name: string) => name.trim().slice(0, 1).toUpperCase() || '•';

/**
 * The portal's header: the workspace that invites, and the partner as the workspace describes it
 * (its icon, its colour as the accent beside it, its owner). An icon that fails to load gives way
 * to the partner's initial on its colour, so the header never shows a broken image.
 */
export function renderHeader(
  portal: PortalState,
  text: (key: TranslationKey, values?: Record<string, string>) => string,
  icon: { failed: boolean; onError: () => void },
) {
  const { workspace, partner, partnerBranding: branding } = portal;
  const showsPartner = partner.appName !== '' || branding.icon !== null || branding.owner !== null;
  return html`<header part="header">
    <span class="workspace">
      ${workspace.iconUrl ? html`<img src=${workspace.iconUrl} alt="" width="32" height="32" referrerpolicy="no-referrer" />` : html`<span class="monogram" aria-hidden="true">${initialOf(workspace.name)}</span>`}
      <span>${workspace.name}</span>
    </span>
    ${
      showsPartner
        ? html`<span part="partner">
          ${
            branding.icon && !icon.failed
              ? html`<img part="partner-icon" src=${branding.icon} alt=${partner.appName ? text('onboarding.partner.icon', { partner: partner.appName }) : ''} width="32" height="32" referrerpolicy="no-referrer" @error=${icon.onError} />`
              : html`<span part="partner-icon" class="monogram" aria-hidden="true">${initialOf(partner.appName)}</span>`
          }
          <span class="partner-text">
            <span>${partner.appName}</span>
            ${branding.owner ? html`<span part="owner">${text('onboarding.partner.owner', { owner: branding.owner })}</span>` : nothing}
          </span>
        </span>`
        : nothing
    }
  </header>`;
}
