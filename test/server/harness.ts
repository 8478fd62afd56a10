/** Starts a server with fake detectors on 127.0.0.1 (a free port) for a test. */
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from '../../src/server/index.js';
import { FakeLoader } from './fake-detector.js';

export interface FakeServer {
  app: FastifyInstance;
  url: string;
  loader: FakeLoader;
  /** The server's notes (`log`) and its JSON log lines (`logStream`, at 'info' unless opts say otherwise). */
  logs: string[];
  close(): Promise<void>;
}

export const FAKE_FILE = '/models/fake.pfm';

export async function startFakeServer(opts: Partial<ServerOptions> = {}, loader = new FakeLoader()): Promise<FakeServer> {
  const logs: string[] = [];
  const app = await buildServer({
    models: [{ name: 'fake', file: FAKE_FILE }],
    loadDetector: loader.load,
    log: (l) => logs.push(l),
    logLevel: 'info',
    logStream: { write: (l: string) => void logs.push(l) },
    ...opts,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url, loader, logs, close: () => app.close() };
}

/** One line of the server's JSON log, as pino writes it. */
export interface LogEntry {
  level: number; // 30 info, 40 warn, 50 error
  reqId?: string;
  method?: string;
  url?: string;
  status?: number;
  responseTime?: number;
  code?: string;
  err?: { message: string; stack: string };
  msg?: string;
  [key: string]: unknown;
}

/** The JSON lines among the captured logs (notes from `log` are plain text and left out). */
export function logEntries(logs: string[]): LogEntry[] {
  return logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogEntry);
}

export interface JsonReply {
  status: number;
  headers: Headers;
  body: any; // JSON under test: its shape is what the assertions check
  text: string; // the body as sent
}

export async function readReply(res: Response): Promise<JsonReply> {
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text), text };
}

/** POSTs bytes with a content type (none when null) and reads the JSON reply. */
export async function postBytes(
  url: string,
  bytes: Uint8Array,
  contentType: string | null = 'image/png',
  headers: Record<string, string> = {},
): Promise<JsonReply> {
  const all: Record<string, string> = { ...headers };
  if (contentType) all['content-type'] = contentType;
  return readReply(await fetch(url, { method: 'POST', headers: all, body: new Uint8Array(bytes) })); // a copy typed as fetch wants it
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<JsonReply> {
  return readReply(await fetch(url, { headers }));
}
