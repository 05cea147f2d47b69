import { css } from 'lit';

/** The dark scheme's fallbacks; a host's own `--patchbay-*` values still win. */
const dark = css`
  --_accent: var(--patchbay-color-primary, #a5b4fc);
  --_on-accent: var(--patchbay-color-on-primary, #111827);
  --_surface: var(--patchbay-color-surface, #1f2937);
  --_text: var(--patchbay-color-text, #f3f4f6);
  --_muted: var(--patchbay-color-text-muted, #cbd5e1);
  --_border: var(--patchbay-color-border, #4b5563);
  --_success: var(--patchbay-color-success, #4ade80);
  --_danger: var(--patchbay-color-danger, #fca5a5);
`;

/**
 * The design tokens every Patchbay element shares: public `--patchbay-*` properties copied to
 * private `--_*` ones with light fallbacks, dark ones under `prefers-color-scheme: dark` unless
 * the element says `theme="light"`, and always with `theme="dark"`.
 */
export const themeStyles = css`
  :host {
    --_accent: var(--patchbay-color-primary, #4f46e5);
    --_on-accent: var(--patchbay-color-on-primary, #ffffff);
    --_surface: var(--patchbay-color-surface, #ffffff);
    --_text: var(--patchbay-color-text, #111827);
    --_muted: var(--patchbay-color-text-muted, #4b5563);
    --_border: var(--patchbay-color-border, #d1d5db);
    --_success: var(--patchbay-color-success, #15803d);
    --_danger: var(--patchbay-color-danger, #b91c1c);
    --_radius: var(--patchbay-radius, 8px);
    --_font: var(--patchbay-font-family, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    --_font-size: var(--patchbay-font-size, 1rem);
    --_focus-ring: var(--patchbay-focus-ring, 3px solid color-mix(in srgb, var(--_accent) 55%, transparent));
    font-family: var(--_font);
    font-size: var(--_font-size);
  }

  @media (prefers-color-scheme: dark) {
    :host(:not([theme='light'])) {
      ${dark}
    }
  }

  :host([theme='dark']) {
    ${dark}
  }

  /* The primary button every component shows; components set --_button-* from their own properties. */
  .button {
    display: inline-flex;
    align-items: center;
    gap: 0.5em;
    padding: var(--_button-padding, 0.6em 1.2em);
    border: 1px solid var(--_button-color, var(--_accent));
    border-radius: var(--_button-radius, var(--_radius));
    background: var(--_button-color, var(--_accent));
    color: var(--_button-text, var(--_on-accent));
    font: inherit;
    font-weight: 600;
    line-height: 1.2;
    cursor: pointer;
    transition: filter 120ms ease;
  }

  .button:hover:not([aria-disabled='true']) {
    filter: brightness(1.08);
  }

  .button:focus-visible {
    outline: var(--_focus-ring);
    outline-offset: 2px;
  }

  .button[aria-busy='true'] {
    cursor: progress;
    opacity: 0.85;
  }

  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }

  .spinner {
    width: 1em;
    height: 1em;
    border: 2px solid currentColor;
    border-inline-end-color: transparent;
    border-radius: 50%;
    animation: patchbay-spin 0.8s linear infinite;
  }

  @keyframes patchbay-spin {
    to {
      transform: rotate(360deg);
    }
  }

  @media (prefers-reduced-motion: reduce) {
    .spinner {
      animation-duration: 3s;
    }
    * {
      transition: none !important;
    }
  }
`;
