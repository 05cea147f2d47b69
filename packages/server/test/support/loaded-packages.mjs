/**
 * `node --import ./loaded-packages.mjs …`: at exit, prints to stderr one line
 * `loaded-packages: a,b,c` naming every npm package the process imported (ESM and CommonJS), so a
 * test can check what a command loads without timing it.
 */
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const packages = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => {
  const name = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (name) packages.add(name);
});
port1.unref();
const hooks = `let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  port.postMessage(resolved.url);
  return resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, import.meta.url, { data: { port: port2 }, transferList: [port2] });
process.on('exit', () => process.stderr.write(`\nloaded-packages: ${[...packages].sort().join(',')}\n`));
