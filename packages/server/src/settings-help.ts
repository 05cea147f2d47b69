import { type Setting, SETTINGS } from './settings.js';

/** The README section and `patchbay start --help` read the table through here, so both say the same. */
const entries = Object.values(SETTINGS as Record<string, Setting>);

/** The flag as typed on the command line: `--dev`, `--port <value>`. */
function flagOf(entry: Setting): string | null {
  if (!entry.flag) return null;
  return entry.switch ? `--${entry.flag}` : `--${entry.flag} <value>`;
}

/** The default as an operator reads it; Markdown code spans kept (the README) or dropped (a terminal). */
function defaultOf(entry: Setting, markdown: boolean): string {
  if (entry.default === undefined) return entry.otherwise ?? 'none';
  if (entry.default === '') return 'none';
  return markdown ? `\`${entry.default}\`` : entry.default;
}

const plain = (text: string) => text.replace(/`/g, '');

/** The flags `patchbay start` takes, for the one-line usage: `[--dev] [--port|--host|… <value>]`. */
export function startFlagsUsage(): string {
  const switches = entries.filter((entry) => entry.flag && entry.switch).map((entry) => `[--${entry.flag}]`);
  const valued = entries.filter((entry) => entry.flag && !entry.switch).map((entry) => `--${entry.flag}`);
  return [...switches, `[${valued.join('|')} <value>]`].join(' ');
}

/** `patchbay start --help`: every setting, its flag and variable, default and help. */
export function startHelp(): string {
  const lines = ['Usage: patchbay start [options]', '', 'Every setting is read from its flag, else its environment variable, else its default.', ''];
  for (const entry of entries) {
    const names = [flagOf(entry), entry.env].filter(Boolean).join(', ');
    lines.push(`  ${names}  (default: ${plain(defaultOf(entry, false))})`, `      ${plain(entry.help)}`);
  }
  return lines.join('\n');
}

export const SECTION_START = '<!-- settings:start — generated from packages/server/src/settings.ts by `npm run docs:settings`; do not edit -->';
export const SECTION_END = '<!-- settings:end -->';

/** The README's settings table (unformatted: scripts/settings-docs.js runs Prettier over the README). */
export function settingsMarkdown(): string {
  const rows = entries.map((entry) => {
    const flag = flagOf(entry);
    return `| \`${entry.env}\` | ${flag ? `\`${flag}\`` : '—'} | ${defaultOf(entry, true)} | ${entry.help} |`;
  });
  return ['| environment | flag | default | what it does |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** The README with its settings section (between the two markers) rewritten from the table. */
export function withSettingsSection(readme: string): string {
  const start = readme.indexOf(SECTION_START);
  const end = readme.indexOf(SECTION_END);
  if (start < 0 || end < start) throw new Error(`README.md has no settings section: put ${SECTION_START} and ${SECTION_END} where it goes.`);
  return `${readme.slice(0, start + SECTION_START.length)}\n\n${settingsMarkdown()}\n\n${readme.slice(end)}`;
}
