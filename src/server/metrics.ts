/**
 * Prometheus metrics in the text exposition format (version 0.0.4), written by hand: request
 * counts by model and status, a latency histogram, queue gauges, errors by code and reloads.
 */

/** Upper bounds of the latency buckets in seconds (a prediction takes from milliseconds to seconds). */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Histogram {
  buckets: number[]; // per-bucket counts (not cumulative); the last one is +Inf
  sum: number;
  count: number;
}

export interface Gauges {
  queueLength: number;
  inFlight: number;
  models: number;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatNumber(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}

export class Metrics {
  private readonly requests = new Map<string, number>(); // key: model \0 status
  private readonly latency = new Map<string, Histogram>(); // key: model
  private readonly errors = new Map<string, number>(); // key: code
  private readonly reloads = new Map<string, number>(); // key: model \0 result

  observeRequest(model: string, status: number, seconds: number): void {
    const key = `${model}\0${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(model);
    if (!h) {
      h = { buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
      this.latency.set(model, h);
    }
    let i = LATENCY_BUCKETS.findIndex((le) => seconds <= le);
    if (i < 0) i = LATENCY_BUCKETS.length;
    h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
  }

  countError(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  countReload(model: string, ok: boolean): void {
    const key = `${model}\0${ok ? 'ok' : 'failed'}`;
    this.reloads.set(key, (this.reloads.get(key) ?? 0) + 1);
  }

  render(g: Gauges): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family('pyramidflow_requests_total', 'counter', 'Prediction requests answered, by model and HTTP status.');
    for (const [key, n] of this.requests) {
      const [model, status] = key.split('\0') as [string, string];
      out.push(`pyramidflow_requests_total${labels({ model, status })} ${n}`);
    }
    family('pyramidflow_request_duration_seconds', 'histogram', 'Time from request to reply for predictions, queueing included.');
    for (const [model, h] of this.latency) {
      let cumulative = 0;
      for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
        cumulative += h.buckets[i]!;
        const le = i < LATENCY_BUCKETS.length ? formatNumber(LATENCY_BUCKETS[i]!) : '+Inf';
        out.push(`pyramidflow_request_duration_seconds_bucket${labels({ model, le })} ${cumulative}`);
      }
      out.push(`pyramidflow_request_duration_seconds_sum${labels({ model })} ${formatNumber(h.sum)}`);
      out.push(`pyramidflow_request_duration_seconds_count${labels({ model })} ${h.count}`);
    }
    family('pyramidflow_queue_length', 'gauge', 'Prediction requests waiting for a slot.');
    out.push(`pyramidflow_queue_length ${g.queueLength}`);
    family('pyramidflow_predictions_in_flight', 'gauge', 'Predictions running now.');
    out.push(`pyramidflow_predictions_in_flight ${g.inFlight}`);
    family('pyramidflow_models_loaded', 'gauge', 'Models being served.');
    out.push(`pyramidflow_models_loaded ${g.models}`);
    family('pyramidflow_errors_total', 'counter', 'Error replies, by error code.');
    for (const [code, n] of this.errors) out.push(`pyramidflow_errors_total${labels({ code })} ${n}`);
    family('pyramidflow_model_reloads_total', 'counter', 'Model reloads, by model and result.');
    for (const [key, n] of this.reloads) {
      const [model, result] = key.split('\0') as [string, string];
      out.push(`pyramidflow_model_reloads_total${labels({ model, result })} ${n}`);
    }
    return `${out.join('\n')}\n`;
  }
}
