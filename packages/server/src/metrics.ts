/** Label values of one series. Never put a key, token or email in one. */
type MetricLabels = Readonly<Record<string, string>>;

/** The server's own counters and latency histogram, written as Prometheus text by `GET /metrics`. */
export interface ServerMetrics {
  /** Add `by` (default 1) to counter `name` with `labels`. */
  count(name: string, labels: MetricLabels, by?: number): void;
  /** Record one request's duration, in seconds. */
  observe(name: string, labels: MetricLabels, seconds: number): void;
  /** Everything, in the Prometheus text exposition format (0.0.4). */
  render(): string;
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const HELP: Readonly<Record<string, string>> = {
  leadpipe_http_requests_total: 'HTTP requests answered, by route pattern, method and status.',
  leadpipe_http_request_duration_seconds: 'HTTP request duration, by route pattern and method.',
  leadpipe_webhook_events_total: 'Webhook events received, by vendor and outcome (published, duplicate).',
  leadpipe_webhooks_refused_total: 'Webhook deliveries refused, by vendor and reason.',
  leadpipe_rate_limited_total: 'Requests refused with 429, by limit (ip, key).',
  leadpipe_auth_refused_total: 'Requests refused with 401 or 403, by status.',
};

const escapeLabel = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function seriesKey(labels: MetricLabels): string {
  const names = Object.keys(labels).sort();
  return names.map((name) => `${name}="${escapeLabel(labels[name]!)}"`).join(',');
}

/** An in-process registry of the server's metrics. */
export function createServerMetrics(): ServerMetrics {
  const counters = new Map<string, Map<string, number>>();
  const histograms = new Map<string, Map<string, { buckets: number[]; sum: number; count: number }>>();
  return {
    count(name, labels, by = 1) {
      if (by === 0) return;
      let series = counters.get(name);
      if (series === undefined) {
        series = new Map();
        counters.set(name, series);
      }
      const key = seriesKey(labels);
      series.set(key, (series.get(key) ?? 0) + by);
    },
    observe(name, labels, seconds) {
      let series = histograms.get(name);
      if (series === undefined) {
        series = new Map();
        histograms.set(name, series);
      }
      const key = seriesKey(labels);
      let entry = series.get(key);
      if (entry === undefined) {
        entry = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
        series.set(key, entry);
      }
      for (const [index, bound] of BUCKETS.entries()) if (seconds <= bound) entry.buckets[index]! += 1;
      entry.sum += seconds;
      entry.count += 1;
    },
    render() {
      const lines: string[] = [];
      for (const [name, series] of counters) {
        lines.push(`# HELP ${name} ${HELP[name] ?? name}`, `# TYPE ${name} counter`);
        for (const [key, value] of series) lines.push(`${name}${key === '' ? '' : `{${key}}`} ${value}`);
      }
      for (const [name, series] of histograms) {
        lines.push(`# HELP ${name} ${HELP[name] ?? name}`, `# TYPE ${name} histogram`);
        for (const [key, entry] of series) {
          const prefix = key === '' ? '' : `${key},`;
          BUCKETS.forEach((bound, index) => {
            lines.push(`${name}_bucket{${prefix}le="${bound}"} ${entry.buckets[index]}`);
          });
          lines.push(`${name}_bucket{${prefix}le="+Inf"} ${entry.count}`);
          lines.push(`${name}_sum${key === '' ? '' : `{${key}}`} ${entry.sum}`);
          lines.push(`${name}_count${key === '' ? '' : `{${key}}`} ${entry.count}`);
        }
      }
      return `${lines.join('\n')}\n`;
    },
  };
}
