/** What every command writes: answers to stdout, problems to stderr. */
export function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function warn(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** A mistake in the command line or its settings: exit 2 with the message, nothing sent or written. */
export class UsageError extends Error {}

/** Exactly these positionals, or a usage error quoting the command's form. */
export function positionalsExactly(positionals: string[], count: number, usage: string): string[] {
  if (positionals.length !== count) throw new UsageError(`Usage: ${usage}`);
  return positionals;
}

/** A date as ISO, or the text unchanged so validation names it. */
export function isoOrInvalid(text: string): string {
  const time = Date.parse(text);
  return Number.isNaN(time) ? text : new Date(time).toISOString();
}
