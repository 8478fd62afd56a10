/** Starts a server with fake detectors on 127.0.0.1 (a free port) for a test. */
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from '../../src/server/index.js';
import { FakeLoader } from './fake-detector.js';

export interface FakeServer {
  app: FastifyInstance;
  url: string;
  loader: FakeLoader;
  logs: string[];
  close(): Promise<void>;
}

export const FAKE_FILE = '/models/fake.pfm';

export async function startFakeServer(opts: Partial<ServerOptions> = {}, loader = new FakeLoader()): Promise<FakeServer> {
  const logs: string[] = [];
  const app = await buildServer({ models: [{ name: 'fake', file: FAKE_FILE }], loadDetector: loader.load, log: (l) => logs.push(l), ...opts });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url, loader, logs, close: () => app.close() };
}

export interface JsonReply {
  status: number;
  headers: Headers;
  body: any; // JSON under test: its shape is what the assertions check
}

/** POSTs bytes with a content type (none when null) and reads the JSON reply. */
export async function postBytes(url: string, bytes: Uint8Array, contentType: string | null = 'image/png'): Promise<JsonReply> {
  const headers: Record<string, string> = {};
  if (contentType) headers['content-type'] = contentType;
  const res = await fetch(url, { method: 'POST', headers, body: new Uint8Array(bytes) }) // a copy typed as fetch wants it;
  return { status: res.status, headers: res.headers, body: await res.json() };
}

export async function getJson(url: string): Promise<JsonReply> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: await res.json() };
}
