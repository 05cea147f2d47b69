import { css } from 'lit';

export default css`
  :host {
    --_accent: var(--patchbay-connect-button-color, var(--patchbay-color-primary, #4f46e5));
    --_on-accent: var(--patchbay-connect-button-text-color, var(--patchbay-color-on-primary, #ffffff));
    --_success: var(--patchbay-color-success, #15803d);
    --_danger: var(--patchbay-color-danger, #b91c1c);
    --_radius: var(--patchbay-connect-button-radius, var(--patchbay-radius, 8px));
    --_font: var(--patchbay-font-family, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    --_padding: var(--patchbay-connect-button-padding, 0.6em 1.2em);
    display: inline-flex;
    flex-direction: column;
    align-items: flex-start;
    gap: 0.35em;
    font-family: var(--_font);
  }

  [part~='base'] {
    display: inline-flex;
    align-items: center;
    gap: 0.5em;
    padding: var(--_padding);
    border: 1px solid var(--_accent);
    border-radius: var(--_radius);
    background: var(--_accent);
    color: var(--_on-accent);
    font: inherit;
    font-weight: 600;
    line-height: 1.2;
    cursor: pointer;
    transition: filter 120ms ease;
  }

  [part~='base']:hover:not([aria-disabled='true']) {
    filter: brightness(1.08);
  }

  [part~='base']:focus-visible {
    outline: 3px solid color-mix(in srgb, var(--_accent) 45%, transparent);
    outline-offset: 2px;
  }

  :host([data-status='connected']) [part~='base'] {
    background: transparent;
    border-color: var(--_success);
    color: var(--_success);
    cursor: default;
  }

  :host([data-status='needs-reauth']) [part~='base'],
  :host([data-status='error']) [part~='base'] {
    background: transparent;
    border-color: var(--_danger);
    color: var(--_danger);
  }

  [part~='base'][aria-busy='true'] {
    cursor: progress;
    opacity: 0.85;
  }

  [part~='spinner'] {
    width: 1em;
    height: 1em;
    border: 2px solid currentColor;
    border-right-color: transparent;
    border-radius: 50%;
    animation: spin 0.8s linear infinite;
  }

  [part~='check'] {
    width: 1em;
    height: 1em;
  }

  [part~='status'] {
    font-size: 0.85em;
    color: var(--patchbay-color-text-muted, #4b5563);
    min-height: 1.2em;
  }

  :host([data-status='error']) [part~='status'] {
    color: var(--_danger);
  }

  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }

  @keyframes spin {
    to {
      transform: rotate(360deg);
    }
  }

  @media (prefers-reduced-motion: reduce) {
    [part~='spinner'] {
      animation-duration: 3s;
    }
    [part~='base'] {
      transition: none;
    }
  }
`;
