/**
 * Pictures kept for one-time URLs (`?pictures=url`): each picture is served once, then gone;
 * everything expires after `ttlMs`, and at most `maxEntries` results or `maxBytes` bytes are held
 * (oldest dropped first), so abandoned results cannot grow memory without bound.
 */
import { randomUUID } from 'node:crypto';

interface Entry {
  expires: number;
  bytes: number;
  pictures: Map<string, Buffer>;
}

export interface OneTimeStoreOptions {
  ttlMs?: number; // default 60 s
  maxEntries?: number; // default 256
  maxBytes?: number; // default 256 MiB
  now?: () => number; // clock, for tests
}

export class OneTimeStore {
  private readonly entries = new Map<string, Entry>(); // insertion order = age order
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private bytes = 0;
  private readonly now: () => number;

  constructor(opts: OneTimeStoreOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 256;
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    this.sweep();
    return this.entries.size;
  }

  /** Stores pictures by name (e.g. 'heatmap', 'mask') and returns the id that fetches them. */
  put(pictures: Record<string, Buffer>): string {
    this.sweep();
    const bytes = Object.values(pictures).reduce((n, b) => n + b.length, 0);
    while (this.entries.size > 0 && (this.entries.size >= this.maxEntries || this.bytes + bytes > this.maxBytes)) {
      this.remove(this.entries.keys().next().value as string);
    }
    const id = randomUUID();
    this.entries.set(id, { expires: this.now() + this.ttlMs, bytes, pictures: new Map(Object.entries(pictures)) });
    this.bytes += bytes;
    return id;
  }

  /** Returns the picture and forgets it; undefined when unknown, already taken or expired. */
  take(id: string, name: string): Buffer | undefined {
    this.sweep();
    const entry = this.entries.get(id);
    const picture = entry?.pictures.get(name);
    if (!entry || !picture) return undefined;
    entry.pictures.delete(name);
    entry.bytes -= picture.length;
    this.bytes -= picture.length;
    if (entry.pictures.size === 0) this.remove(id);
    return picture;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  /** Drops expired results (also done on every put and take). */
  sweep(): void {
    const now = this.now();
    for (const [id, entry] of this.entries) {
      if (entry.expires > now) break; // later entries expire later
      this.remove(id);
    }
  }

  private remove(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.bytes -= entry.bytes;
    this.entries.delete(id);
  }
}
