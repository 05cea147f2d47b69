import { css } from 'lit';
import { themeStyles } from '../../internal/theme.styles.js';

export default [
  themeStyles,
  css`
    :host {
      --_brand: var(--patchbay-onboarding-accent, var(--_workspace-color, var(--_accent)));
      /* The component sets --_workspace-on-color from the workspace's colour (see readableTextOn). */
      --_on-brand: var(--patchbay-onboarding-on-accent, var(--_workspace-on-color, var(--_on-accent)));
      display: block;
      color: var(--_text);
    }

    [part~='base'] {
      box-sizing: border-box;
      max-width: var(--patchbay-onboarding-width, 40rem);
      margin-inline: auto;
      padding: 1.5em;
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      background: var(--_surface);
      line-height: 1.5;
    }

    [part~='header'] {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      justify-content: space-between;
      gap: 0.75em 1.5em;
      margin-block-end: 1em;
      font-weight: 700;
      font-size: 1.1em;
    }

    .workspace,
    [part~='partner'] {
      display: flex;
      align-items: center;
      gap: 0.6em;
      min-width: 0;
    }

    /* The partner's colour is an accent beside it (the component sets --_partner-color from its metadata). */
    [part~='partner'] {
      padding-inline-start: 0.75em;
      border-inline-start: 4px solid var(--_partner-color, var(--_border));
      font-size: 0.9em;
    }

    .partner-text {
      display: flex;
      flex-direction: column;
      min-width: 0;
      line-height: 1.3;
      overflow-wrap: anywhere;
    }

    [part~='owner'] {
      color: var(--_muted);
      font-weight: 400;
      font-size: 0.85em;
    }

    [part~='header'] img,
    .monogram {
      flex: none;
      width: 32px;
      height: 32px;
      border-radius: 8px;
    }

    .monogram {
      display: grid;
      place-items: center;
      background: var(--_brand);
      color: var(--_on-brand);
    }

    [part~='partner-icon'].monogram {
      background: var(--_partner-color, var(--_muted));
      color: var(--_partner-on-color, var(--_surface));
    }

    [part~='steps'] {
      display: flex;
      flex-wrap: wrap;
      gap: 0.4em 1.2em;
      margin: 0 0 1.2em;
      padding: 0;
      list-style: none;
      counter-reset: step;
      color: var(--_muted);
      font-size: 0.85em;
    }

    [part~='steps'] li {
      counter-increment: step;
    }

    [part~='steps'] li::before {
      content: counter(step) '. ';
    }

    [part~='steps'] [aria-current='step'] {
      color: var(--_text);
      font-weight: 700;
      text-decoration: underline 2px var(--_brand);
      text-underline-offset: 4px;
    }

    [part~='heading'] {
      margin: 0 0 0.5em;
      font-size: 1.25em;
    }

    [part~='heading']:focus {
      outline: none;
    }

    [part~='field'] {
      display: flex;
      flex-direction: column;
      gap: 0.25em;
      margin-block-end: 0.9em;
    }

    input,
    textarea,
    select {
      box-sizing: border-box;
      padding: 0.5em 0.6em;
      border: 1px solid var(--_border);
      border-radius: calc(var(--_radius) - 2px);
      background: transparent;
      color: inherit;
      font: inherit;
    }

    input[type='checkbox'] {
      width: 1.1em;
      height: 1.1em;
      accent-color: var(--_brand);
    }

    button {
      padding: 0.5em 1em;
      border: 1px solid var(--_border);
      border-radius: calc(var(--_radius) - 2px);
      background: transparent;
      color: inherit;
      font: inherit;
      cursor: pointer;
    }

    [part~='primary'] {
      border-color: var(--_brand);
      background: var(--_brand);
      color: var(--_on-brand);
      font-weight: 600;
    }

    button:disabled {
      cursor: progress;
      opacity: 0.7;
    }

    button:focus-visible,
    input:focus-visible,
    textarea:focus-visible,
    select:focus-visible {
      outline: var(--_focus-ring);
      outline-offset: 2px;
    }

    .nav {
      display: flex;
      flex-wrap: wrap;
      justify-content: space-between;
      gap: 0.6em;
      margin-block-start: 1.2em;
    }

    /* The way forward stays at the end of the line, also when it wraps under Back. */
    .nav > :last-child {
      margin-inline-start: auto;
    }

    .keys {
      display: grid;
      gap: 0.8em;
      margin: 0;
      padding: 0;
      list-style: none;
    }

    .key-row {
      display: grid;
      gap: 0.5em;
      padding: 0.8em;
      border: 1px solid var(--_border);
      border-radius: calc(var(--_radius) - 2px);
    }

    .key-head,
    .reveal,
    .rotate {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.6em;
    }

    [part~='key'] {
      flex: 1 1 18em;
      font-family: ui-monospace, SFMono-Regular, Menlo, monospace;
    }

    [part~='warning'] {
      flex-basis: 100%;
      margin: 0;
      color: var(--_danger);
      font-weight: 600;
    }

    .topics {
      width: 100%;
      border-collapse: collapse;
    }

    .topics th,
    .topics td {
      padding: 0.4em 0.25em;
      border-block-end: 1px solid var(--_border);
      text-align: start;
    }

    /* On a narrow card a long topic breaks after its slashes (see breakableTopic), and inside a
       segment only when one segment alone is too wide, rather than pushing the send and receive
       columns out of the card. */
    .topics tbody th {
      overflow-wrap: break-word;
    }

    .topics thead th {
      font-size: 0.9em;
    }

    .topics thead th:not(:first-child) {
      width: 1%;
      white-space: nowrap;
    }

    [part~='snippet'] {
      overflow: auto;
      padding: 1em;
      border-radius: calc(var(--_radius) - 2px);
      background: #0f172a;
      color: #e2e8f0;
      font-size: 0.85em;
    }

    .hint,
    [part~='message'] {
      color: var(--_muted);
    }

    .error {
      color: var(--_danger);
    }
  `,
];
