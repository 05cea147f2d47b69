import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const HTTP_DIR = new URL('../src/http/', import.meta.url);

/**
 * What src/http may import from outside itself: the context and configuration, the credential
 * contract (src/auth/strategy.ts), the store and the logger. Every resource reaches the HTTP layer
 * through the context (its credential strategy among `ctx.strategies`), never by import.
 */
const ALLOWED = new Set(['../auth/strategy.js', '../config.js', '../context.js', '../logger.js', '../store/store.js', '../store/unavailable.js']);

describe('the HTTP layer (src/http)', () => {
  it('imports no resource module: strategies are handed to it, not imported', () => {
    const outside: string[] = [];
    for (const file of readdirSync(HTTP_DIR).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(new URL(file, HTTP_DIR), 'utf8');
      for (const [, specifier] of source.matchAll(/from '(\.\.\/[^']+)'/g)) {
        if (!ALLOWED.has(specifier!)) outside.push(`${file} imports ${specifier}`);
      }
    }
    assert.deepEqual(outside, []);
  });
});
