import { diag } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { wireDiagnostics } from './diagnostics.ts';

describe('OpenTelemetry diagnostics', () => {
  afterEach(() => diag.disable());

  it("reach the collector's log at warn: an SDK warning is no longer lost", () => {
    const lines: Array<Record<string, unknown>> = [];
    wireDiagnostics(
      pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) })
    );
    // A real SDK warning: an instrument name the API does not allow.
    new MeterProvider().getMeter('m').createCounter('1 not a valid name');
    diag.debug('below warn: not logged');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, component: 'opentelemetry' });
    expect(String(lines[0]!.msg)).toMatch(/Invalid metric name/);
  });
});
