import { z } from 'zod';

/** One setting of the server (the table is in settings.ts; background work's entries in settings-background.ts). */
export interface Setting<S extends z.ZodType = z.ZodType> {
  /** The environment variable. */
  env: string;
  /** The long flag without its dashes, when the setting has one. */
  flag?: string;
  /** The flag takes no value (`--dev`); its presence reads as `true`. */
  switch?: true;
  /** Fed to the schema, as if written in the environment, when neither flag nor variable is set. */
  default?: string;
  /** For the help, when there is no fixed default: what applies instead. */
  otherwise?: string;
  /** Reads the text form (flag or environment) into the value the server uses. */
  schema: S;
  /** One line for `--help` and the README (Markdown: `code` spans only). */
  help: string;
}

/** Keeps each entry's own schema type, so the `Settings` type below is inferred from the table. */
export function setting<S extends z.ZodType>(entry: Setting<S>): Setting<S> {
  return entry;
}

/** A whole number within bounds, read from text. */
export const whole = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
