/**
 * bench:events' floor: node:http plus better-sqlite3, numbering (max + 1) and inserting each event
 * in one transaction, into the same table shape as Patchbay's log, with the same pragmas.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import path from 'node:path';
import SQLite from 'better-sqlite3';

const database = new SQLite(path.join(process.env.BENCH_DIR!, 'floor.db'));
database.pragma('journal_mode = WAL');
database.pragma('synchronous = NORMAL');
database.exec(
  'CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, topic TEXT NOT NULL, payload TEXT NOT NULL, publisher TEXT NOT NULL, created_at TEXT NOT NULL); CREATE INDEX IF NOT EXISTS events_topic ON events (topic, seq)',
);
const max = database.prepare('SELECT max(seq) AS max FROM events');
const insert = database.prepare('INSERT INTO events (seq, id, topic, payload, publisher, created_at) VALUES (?, ?, ?, ?, ?, ?)');
const append = database.transaction((id: string, topic: string, payload: string) => {
  const seq = Number((max.get() as { max: number | null }).max ?? 0) + 1;
  insert.run(seq, id, topic, payload, 'floor', new Date().toISOString());
  return seq;
});
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { topic: string; payload: unknown };
    const id = `evt_${randomUUID()}`;
    const seq = append(id, input.topic, JSON.stringify(input.payload));
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { id, seq } }));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('SIGTERM', () => process.exit(0));
