/**
 * Patchbay's wire contract, defined once: the server validates requests and types its answers with
 * these schemas, the widget imports their types (`import type` only: zod stays out of its bundle),
 * and the mock handlers of Storybook and the component tests are built on them.
 */
export * from './primitives.js';
export * from './envelopes.js';
export * from './sessions.js';
export * from './partners.js';
