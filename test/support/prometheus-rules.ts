/**
 * A real Prometheus (support/prometheus.ts) that also evaluates recording rules, with queries that take
 * an evaluation time, so a test can pin `$__range` to what it sent, and answer as is, errors included.
 */
import { startPrometheus, type PrometheusOptions } from './prometheus.ts';

/** The shipped rule files are required here, and checked by `promtool check config` before the start. */
export type RulesPrometheusOptions = PrometheusOptions & { readonly rules: readonly string[] };

/** One series of an instant query; `value` is Prometheus's string form (NaN stays "NaN"). */
export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: string;
}

/** What /api/v1/query answered, as is: a failed parse is an answer too, not an exception. */
export interface QueryAnswer {
  readonly httpStatus: number;
  readonly status: 'success' | 'error';
  readonly error?: string;
  readonly resultType?: string;
  readonly result: readonly Sample[];
}

export interface RulesPrometheus {
  readonly url: string;
  readonly output: string[];
  /** GET /api/v1/query at `time` (Unix seconds; default now). */
  query(expr: string, time?: number): Promise<QueryAnswer>;
  /** GET /api/v1/label/<name>/values?match[]=<selector>. */
  labelValues(name: string, selector: string): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startPrometheusWithRules(options: RulesPrometheusOptions): Promise<RulesPrometheus> {
  const server = await startPrometheus(options);
  const { url, output, stop } = server;

  return {
    url,
    output,
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) {
        params.set('time', String(time));
      }
      const res = await fetch(`${url}/api/v1/query?${params}`);
      const body = (await res.json()) as {
        status: 'success' | 'error';
        error?: string;
        data?: {
          resultType: string;
          result: Array<{ metric: Record<string, string>; value: [number, string] }> | [number, string];
        };
      };
      const data = body.data;
      // A scalar or string result is one value; a vector is a list of series.
      const result: Sample[] =
        data === undefined
          ? []
          : data.resultType === 'vector'
            ? (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({
                metric: r.metric,
                value: r.value[1],
              }))
            : [{ metric: {}, value: String((data.result as [number, string])[1]) }];
      return { httpStatus: res.status, status: body.status, error: body.error, resultType: data?.resultType, result };
    },
    async labelValues(name, selector) {
      const res = await fetch(
        `${url}/api/v1/label/${encodeURIComponent(name)}/values?${new URLSearchParams({ 'match[]': selector })}`
      );
      const body = (await res.json()) as { status: string; error?: string; data?: string[] };
      if (body.status !== 'success') {
        throw new Error(`label values ${name} of ${selector}: ${res.status} ${body.error ?? ''}`);
      }
      return body.data ?? [];
    },
    stop,
  };
}
