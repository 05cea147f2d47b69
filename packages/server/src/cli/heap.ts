import v8 from 'node:v8';

/** What V8's heap sizing looks like on node's command line or in NODE_OPTIONS (V8 reads `_` as `-`). */
const HEAP_SIZING = /--(?:max|min)-semi-space-size|--max-old-space-size|--max-heap-size|--semi-space-growth-factor|--heap-growing-percent/;

/**
 * Sizes V8's heap for a server whose live objects are few, unless the operator sized it.
 *
 * Node sizes the heap for throughput: under load the young generation grows to 32 MiB (64 on Node
 * 24) and the old one to a few times what is live. Patchbay keeps ~30 MiB of live objects, so that
 * headroom was most of its resident set (~150 MiB after 10 000 proxied calls). Here the young
 * generation stays near the size it starts with (2–4 MiB; up to 8 on Node 24) and the old one may
 * grow 30% past what each full collection leaves: ~105 MiB after the same calls on Node 20, flat
 * after, with no more CPU per proxied request (bench:start and bench:proxy measure both).
 *
 * Both settings are read by V8's collector at each collection, so setting them in a running process
 * takes effect (test/heap.test.ts checks it on the Node that runs the tests). `--max-semi-space-size`
 * and its kin are read once, when the heap is made: an operator who gives any of them on node's
 * command line or in NODE_OPTIONS keeps V8's sizing as given, with nothing changed here.
 */
export function sizeHeapForServer(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const given = [...execArgv, nodeOptions ?? ''].join(' ').replaceAll('_', '-');
  if (HEAP_SIZING.test(given)) return false;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=30');
  return true;
}
