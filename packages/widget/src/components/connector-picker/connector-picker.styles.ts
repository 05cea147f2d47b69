import { css } from 'lit';
import { flowChoicesStyles } from '../../internal/flow-choices.styles.js';
import { themeStyles } from '../../internal/theme.styles.js';

export default [
  themeStyles,
  flowChoicesStyles,
  css`
  :host {
    --_panel: var(--patchbay-connector-picker-background, var(--_surface));
    --_panel-radius: var(--patchbay-connector-picker-radius, var(--_panel-radius));
    --_button-radius: var(--_panel-radius);
    --_active: var(--patchbay-connector-picker-active-background, color-mix(in srgb, var(--_accent) 12%, var(--_panel)));
    display: inline-block;
    color: var(--_text);
  }

  [part~='base'] {
    display: inline-flex;
    flex-direction: column;
    align-items: flex-start;
    gap: 0.35em;
  }

  [part~='search']:focus-visible,
  [part~='retry']:focus-visible {
    outline: var(--_focus-ring);
    outline-offset: 2px;
  }

  [part~='popover'] {
    position: fixed;
    top: 0;
    left: 0;
    z-index: 2147483000;
    box-sizing: border-box;
    display: flex;
    flex-direction: column;
    gap: 0.5em;
    width: var(--patchbay-connector-picker-width, min(24rem, calc(100vw - 16px)));
    max-height: min(var(--patchbay-connector-picker-max-height, 28rem), var(--_available-height, 28rem));
    padding: 0.5em;
    border: 1px solid var(--_border);
    border-radius: var(--_panel-radius);
    background: var(--_panel);
    color: var(--_text);
    box-shadow: 0 12px 32px rgb(0 0 0 / 0.18);
  }

  [part~='popover'][hidden] {
    display: none;
  }

  [part~='search'] {
    box-sizing: border-box;
    width: 100%;
    padding: 0.55em 0.7em;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_panel-radius) - 2px);
    background: transparent;
    color: inherit;
    font: inherit;
  }

  [part~='listbox'] {
    margin: 0;
    padding: 0;
    list-style: none;
    overflow-y: auto;
    min-height: 0;
  }

  [part~='option'] {
    display: grid;
    grid-template-columns: auto minmax(0, 1fr) auto;
    align-items: center;
    gap: 0.65em;
    padding: 0.55em 0.6em;
    border-radius: calc(var(--_panel-radius) - 2px);
    cursor: pointer;
  }

  [part~='option-active'] {
    background: var(--_active);
    box-shadow: inset 3px 0 0 var(--_accent);
  }

  :host(:dir(rtl)) [part~='option-active'] {
    box-shadow: inset -3px 0 0 var(--_accent);
  }

  [part~='icon'] {
    display: grid;
    place-items: center;
    width: 28px;
    height: 28px;
    border-radius: 6px;
    background: color-mix(in srgb, var(--_accent) 14%, var(--_panel));
    color: var(--_accent);
    font-weight: 700;
    object-fit: contain;
  }

  .text {
    display: flex;
    flex-direction: column;
    min-width: 0;
  }

  .title {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.15em 0.45em;
    min-width: 0;
  }

  [part~='name'] {
    overflow: hidden;
    font-weight: 600;
    text-overflow: ellipsis;
    white-space: nowrap;
  }

  [part~='description'] {
    overflow: hidden;
    color: var(--_muted);
    font-size: 0.85em;
    text-overflow: ellipsis;
    white-space: nowrap;
  }

  [part~='state'] {
    padding: 0.15em 0.5em;
    border-radius: 999px;
    font-size: 0.75em;
    font-weight: 600;
    white-space: nowrap;
  }

  [part~='state'][data-state='connected'] {
    background: color-mix(in srgb, var(--_success) 8%, var(--_panel));
    color: color-mix(in srgb, var(--_success) 85%, var(--_text));
  }

  [part~='state'][data-state='needs_reauth'] {
    background: color-mix(in srgb, var(--_danger) 8%, var(--_panel));
    color: color-mix(in srgb, var(--_danger) 85%, var(--_text));
  }

  [part~='action'] {
    color: var(--_accent);
    font-size: 0.85em;
    font-weight: 600;
    white-space: nowrap;
  }

  [part~='message'] {
    margin: 0.4em 0.3em;
    color: var(--_muted);
  }

  [part~='message'][data-kind='error'] {
    color: var(--_danger);
  }

  [part~='retry'] {
    align-self: flex-start;
    padding: 0.4em 0.9em;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_panel-radius) - 2px);
    background: transparent;
    color: inherit;
    font: inherit;
    cursor: pointer;
  }

  [part~='status'] {
    min-height: 1.2em;
    color: var(--_muted);
    font-size: 0.85em;
  }

  [part~='status'][data-status='error'] {
    color: var(--_danger);
  }
`,
];
