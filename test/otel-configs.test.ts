import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { PERSONAL_KEYS } from '../packages/collector/dist/index.js';
// Not part of the package's exports; the spelling variants below must fold the way the collector folds.
import { foldKey } from '../packages/collector/src/privacy/key-folding.ts';

// The OTel Collector configurations in otel/, checked without a Collector binary: each file is parsed
// and its structure checked by checkCollectorConfig, which the negative cases below show can fail.

const repo = fileURLToPath(new URL('..', import.meta.url));
const CONFIG_FILES = ['otel/gateway.yaml', 'otel/direct.yaml'] as const;

/**
 * Component types in the otelcol-contrib distribution, limited to the ones these files may reasonably use.
 * Checked against open-telemetry/opentelemetry-collector-releases distributions/otelcol-contrib/manifest.yaml
 * @008cde8 (v0.136.0): each entry's module is listed there (healthcheckextension → health_check,
 * memorylimiterprocessor → memory_limiter, otlpreceiver → otlp, ...). Add a type only after checking it there.
 */
const CONTRIB_TYPES = {
  receivers: ['otlp', 'nop', 'prometheus'],
  processors: [
    'memory_limiter',
    'batch',
    'attributes',
    'resource',
    'transform',
    'filter',
    'deltatocumulative',
    'cumulativetodelta',
    'redaction',
  ],
  exporters: ['otlp', 'otlphttp', 'prometheus', 'prometheusremotewrite', 'debug', 'nop'],
  extensions: ['health_check', 'bearertokenauth', 'basicauth', 'pprof', 'zpages'],
} as const;
type Kind = keyof typeof CONTRIB_TYPES;
const KINDS = Object.keys(CONTRIB_TYPES) as Kind[];
const TOP_LEVEL = new Set(['receivers', 'processors', 'exporters', 'extensions', 'connectors', 'service']);
const SIGNALS = new Set(['metrics', 'traces', 'logs', 'profiles']);
/** Exporters whose data stays in the process; a pipeline with only these need not delete personal keys. */
const LOCAL_EXPORTERS = new Set(['debug', 'nop']);

type Scope = 'resource' | 'datapoint';
interface Deletion {
  readonly scope: Scope;
  readonly key?: string;
  readonly pattern?: RegExp;
}

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const typeOf = (id: string): string => id.split('/')[0]!;
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/**
 * Every spelling footfall folds to the same label as `key` (privacy/key-folding.ts): dots or underscores,
 * any case, any run of separators, a non-ASCII character standing in for one.
 */
function spellings(key: string): string[] {
  const [head, tail] = key.split('.') as [string, string];
  const title = (word: string): string => word[0]!.toUpperCase() + word.slice(1);
  return [
    key,
    `${head}_${tail}`,
    `${title(head)}-${title(tail)}`,
    `${head} ${tail}`.toUpperCase(),
    `${head}__${tail}`,
    `${head}\u212A${tail}`,
  ];
}

const OTTL_DELETE =
  /^(delete_key|delete_matching_keys)\(\s*(?:(resource|datapoint)\.)?attributes\s*,\s*("(?:[^"\\]|\\.)*")\s*\)$/;

/** The unconditional attribute deletions one processor makes on metrics, by scope. */
function deletionsOf(type: string, config: unknown, problems: string[], id: string): Deletion[] {
  if (!isRecord(config)) {
    return [];
  }
  const found: Deletion[] = [];
  const add = (scope: Scope, key: unknown, pattern: unknown): void => {
    if (typeof key === 'string') {
      found.push({ scope, key });
    }
    if (typeof pattern === 'string') {
      try {
        found.push({ scope, pattern: new RegExp(pattern) });
      } catch {
        problems.push(`${id}: pattern ${pattern} is not portable between RE2 and JavaScript`);
      }
    }
  };
  if (type === 'transform') {
    for (const entry of Array.isArray(config.metric_statements) ? config.metric_statements : []) {
      // A flat statement infers its context from its paths; a block names it, and may be conditional.
      const block =
        typeof entry === 'string' ? { context: undefined, statements: [entry] } : isRecord(entry) ? entry : undefined;
      if (!block || strings(block.conditions).length > 0) {
        continue;
      }
      for (const statement of strings(block.statements)) {
        const match = OTTL_DELETE.exec(statement.trim());
        if (!match) {
          continue;
        }
        const scope = match[2] ?? block.context;
        if (scope !== 'resource' && scope !== 'datapoint') {
          continue;
        }
        const literal = JSON.parse(match[3]!) as string;
        if (match[1] === 'delete_key') {
          add(scope, literal, undefined);
        } else {
          add(scope, undefined, literal);
        }
      }
    }
  }
  // The attributes processor edits data point attributes of metrics, the resource processor resource
  // attributes; include/exclude make an attributes processor conditional.
  const actions =
    type === 'attributes' && !config.include && !config.exclude
      ? config.actions
      : type === 'resource'
        ? config.attributes
        : undefined;
  for (const action of Array.isArray(actions) ? actions : []) {
    if (isRecord(action) && action.action === 'delete') {
      add(type === 'resource' ? 'resource' : 'datapoint', action.key, action.pattern);
    }
  }
  return found;
}

/** Everything wrong with one Collector configuration; empty when it passes. */
function checkCollectorConfig(config: unknown): string[] {
  const problems: string[] = [];
  if (!isRecord(config)) {
    return ['the file is not a mapping'];
  }
  for (const section of Object.keys(config)) {
    if (!TOP_LEVEL.has(section)) {
      problems.push(`unknown top-level section ${section}`);
    }
  }
  for (const section of ['receivers', 'processors', 'exporters', 'service']) {
    if (!isRecord(config[section])) {
      problems.push(`missing section ${section}`);
    }
  }
  const defined = (kind: Kind): Json => (isRecord(config[kind]) ? config[kind] : {});
  const service = isRecord(config.service) ? config.service : {};
  const pipelines = isRecord(service.pipelines) ? service.pipelines : {};
  if (Object.keys(pipelines).length === 0) {
    problems.push('service.pipelines is empty');
  }

  for (const kind of KINDS) {
    for (const id of Object.keys(defined(kind))) {
      if (!(CONTRIB_TYPES[kind] as readonly string[]).includes(typeOf(id))) {
        problems.push(`${kind}.${id}: type ${typeOf(id)} is not a known contrib ${kind.slice(0, -1)}`);
      }
    }
  }

  const used = new Set<string>();
  const reference = (kind: Kind, id: string, where: string): void => {
    used.add(`${kind}:${id}`);
    if (!(id in defined(kind))) {
      problems.push(`${where} references ${kind}.${id}, which is not defined`);
    }
  };
  for (const id of strings(service.extensions)) {
    reference('extensions', id, 'service.extensions');
  }

  for (const [name, pipeline] of Object.entries(pipelines)) {
    if (!SIGNALS.has(typeOf(name))) {
      problems.push(`pipeline ${name}: unknown signal`);
    }
    if (!isRecord(pipeline)) {
      problems.push(`pipeline ${name} is not a mapping`);
      continue;
    }
    const receivers = strings(pipeline.receivers);
    const processors = strings(pipeline.processors);
    const exporters = strings(pipeline.exporters);
    if (receivers.length === 0) {
      problems.push(`pipeline ${name} has no receivers`);
    }
    if (exporters.length === 0) {
      problems.push(`pipeline ${name} has no exporters`);
    }
    for (const id of receivers) {
      reference('receivers', id, `pipeline ${name}`);
    }
    for (const id of processors) {
      reference('processors', id, `pipeline ${name}`);
    }
    for (const id of exporters) {
      reference('exporters', id, `pipeline ${name}`);
    }

    if (processors[0] === undefined || typeOf(processors[0]) !== 'memory_limiter') {
      problems.push(`pipeline ${name}: memory_limiter is not the first processor`);
    }
    const last = processors.at(-1);
    if (last === undefined || typeOf(last) !== 'batch') {
      problems.push(`pipeline ${name}: batch is not the last processor`);
    }

    const leaves = exporters.some((id) => !LOCAL_EXPORTERS.has(typeOf(id)));
    if (typeOf(name) === 'metrics' && leaves) {
      const deletions = processors.flatMap((id) => deletionsOf(typeOf(id), defined('processors')[id], problems, id));
      for (const scope of ['resource', 'datapoint'] as const) {
        for (const key of PERSONAL_KEYS) {
          for (const spelling of spellings(key)) {
            const covered = deletions.some(
              (d) => d.scope === scope && (d.key === spelling || (d.pattern?.test(spelling) ?? false))
            );
            if (!covered) {
              problems.push(`pipeline ${name}: ${scope} attribute ${JSON.stringify(spelling)} is not deleted`);
            }
          }
        }
      }
    }
  }

  for (const kind of KINDS) {
    for (const id of Object.keys(defined(kind))) {
      if (!used.has(`${kind}:${id}`)) {
        problems.push(`${kind}.${id} is defined but not used`);
      }
    }
  }

  for (const [id, receiver] of Object.entries(defined('receivers'))) {
    const http = isRecord(receiver) && isRecord(receiver.protocols) ? receiver.protocols.http : undefined;
    if (!isRecord(http) || http.cors === undefined) {
      continue;
    }
    const origins = isRecord(http.cors) ? strings(http.cors.allowed_origins) : [];
    if (origins.length === 0) {
      problems.push(`receivers.${id}: cors without allowed_origins`);
    }
    // A wildcard inside a host (https://*.example.com) is an allow-list; a bare one allows every page.
    for (const origin of origins) {
      if (/^\s*(https?:\/\/)?\*\s*$/.test(origin)) {
        problems.push(`receivers.${id}: cors allows any origin (${origin})`);
      }
    }
  }
  return problems;
}

function load(path: string): Json {
  return parseYaml(readFileSync(`${repo}/${path}`, 'utf8')) as Json;
}

describe('otel/ Collector configurations', () => {
  it('spells each personal key every way footfall folds it', () => {
    for (const key of PERSONAL_KEYS) {
      for (const spelling of spellings(key)) {
        expect(foldKey(spelling)).toBe(foldKey(key));
      }
    }
  });

  for (const path of CONFIG_FILES) {
    it(`${path} passes the structural checks`, () => {
      expect(checkCollectorConfig(load(path))).toEqual([]);
    });

    it(`${path} says what it is for at the top`, () => {
      const head = readFileSync(`${repo}/${path}`, 'utf8').split('\n').slice(0, 5);
      expect(head.every((line) => line.startsWith('#'))).toBe(true);
    });
  }

  it('direct.yaml takes cross-origin requests from an origin named by the operator', () => {
    const direct = load('otel/direct.yaml') as {
      receivers: { otlp: { protocols: { http: { cors: { allowed_origins: string[] } } } } };
    };
    expect(direct.receivers.otlp.protocols.http.cors.allowed_origins).toEqual(['${env:GRAFANA_ORIGIN}']);
  });

  it('the gateway sends on to an endpoint from the environment and needs a token', () => {
    const text = readFileSync(`${repo}/otel/gateway.yaml`, 'utf8');
    const gateway = load('otel/gateway.yaml') as {
      exporters: Json;
      receivers: { otlp: { protocols: { http: Json } } };
    };
    expect(gateway.exporters.prometheusremotewrite).toMatchObject({ endpoint: '${env:MIMIR_URL}' });
    expect(gateway.receivers.otlp.protocols.http.auth).toEqual({ authenticator: 'bearertokenauth' });
    // No literal secrets or hosts: only placeholders.
    expect(text).toMatch(/token: \$\{env:GATEWAY_TOKEN\}/);
  });
});

describe('checkCollectorConfig rejects broken copies of the configurations', () => {
  type Mutable = {
    processors: Record<string, { metric_statements: Array<{ context: string; statements: string[] }> } & Json>;
    exporters: Json;
    receivers: Json;
    service: { pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
  };
  const copy = (path: string): Mutable => structuredClone(load(path)) as unknown as Mutable;
  const statementsOf = (config: Mutable, context: string): string[] =>
    config.processors['transform/drop_personal']!.metric_statements.find((block) => block.context === context)!
      .statements;

  for (const path of CONFIG_FILES) {
    it(`${path} without the data point deletions fails`, () => {
      const config = copy(path);
      statementsOf(config, 'datapoint').length = 0;
      const problems = checkCollectorConfig(config);
      expect(problems).toContain('pipeline metrics: datapoint attribute "user.login" is not deleted');
      expect(problems.some((p) => p.startsWith('pipeline metrics: resource'))).toBe(false);
    });

    it(`${path} without the deletion processor in its pipeline fails`, () => {
      const config = copy(path);
      const pipeline = config.service.pipelines.metrics!;
      pipeline.processors = pipeline.processors.filter((id) => id !== 'transform/drop_personal');
      const problems = checkCollectorConfig(config);
      expect(problems).toContain('pipeline metrics: resource attribute "user.email" is not deleted');
      expect(problems).toContain('processors.transform/drop_personal is defined but not used');
    });

    it(`${path} referencing an undefined processor fails`, () => {
      const config = copy(path);
      config.service.pipelines.metrics!.processors.splice(1, 0, 'attributes/missing');
      expect(checkCollectorConfig(config)).toContain(
        'pipeline metrics references processors.attributes/missing, which is not defined'
      );
    });
  }

  it('deleting only the documented spellings misses the others footfall folds', () => {
    const config = copy('otel/direct.yaml');
    for (const context of ['resource', 'datapoint']) {
      const statements = statementsOf(config, context);
      statements.splice(0, statements.length, ...statements.filter((s) => !s.startsWith('delete_matching_keys')));
    }
    const problems = checkCollectorConfig(config);
    expect(problems).toContain('pipeline metrics: datapoint attribute "User-Login" is not deleted');
    expect(problems).toContain('pipeline metrics: resource attribute "user\u212Aid" is not deleted');
    expect(problems).not.toContain('pipeline metrics: datapoint attribute "user_login" is not deleted');
  });

  it('a deletion behind a where clause does not count', () => {
    const config = copy('otel/direct.yaml');
    const statements = statementsOf(config, 'datapoint');
    statements.splice(0, statements.length, ...statements.map((s) => `${s} where metric.name == "x"`));
    expect(checkCollectorConfig(config)).toContain('pipeline metrics: datapoint attribute "user.name" is not deleted');
  });

  it('a pipeline that only prints to the log need not delete, one that exports must', () => {
    const config = copy('otel/direct.yaml');
    config.exporters.debug = {};
    config.service.pipelines['metrics/debug'] = {
      receivers: ['otlp'],
      processors: ['memory_limiter', 'batch'],
      exporters: ['debug'],
    };
    expect(checkCollectorConfig(config)).toEqual([]);
    config.service.pipelines['metrics/debug']!.exporters.push('prometheus');
    expect(checkCollectorConfig(config)).toContain(
      'pipeline metrics/debug: datapoint attribute "user.id" is not deleted'
    );
  });

  it('an unused or unknown component, a misplaced memory_limiter or batch, and a wildcard origin fail', () => {
    const config = copy('otel/direct.yaml');
    config.exporters['otlphttp/unused'] = { endpoint: 'http://example.invalid' };
    config.exporters.prometheusexporter = {};
    const pipeline = config.service.pipelines.metrics!;
    pipeline.exporters.push('prometheusexporter');
    pipeline.processors.reverse();
    (
      config.receivers.otlp as { protocols: { http: { cors: { allowed_origins: string[] } } } }
    ).protocols.http.cors.allowed_origins.push('*');
    expect(checkCollectorConfig(config)).toEqual(
      expect.arrayContaining([
        'exporters.otlphttp/unused is defined but not used',
        'exporters.prometheusexporter: type prometheusexporter is not a known contrib exporter',
        'pipeline metrics: memory_limiter is not the first processor',
        'pipeline metrics: batch is not the last processor',
        'receivers.otlp: cors allows any origin (*)',
      ])
    );
  });

  it('a host wildcard in an origin is an allow-list, not "any origin"', () => {
    const config = copy('otel/direct.yaml');
    (
      config.receivers.otlp as { protocols: { http: { cors: { allowed_origins: string[] } } } }
    ).protocols.http.cors.allowed_origins = ['https://*.example.com'];
    expect(checkCollectorConfig(config)).toEqual([]);
  });

  it('a missing section and a pattern the Collector and JavaScript read differently fail', () => {
    const config = copy('otel/gateway.yaml') as Partial<Mutable> & Json;
    statementsOf(config as Mutable, 'resource').push('delete_matching_keys(attributes, "(?i)^user")');
    delete config.exporters;
    const problems = checkCollectorConfig(config);
    expect(problems).toContain('missing section exporters');
    expect(problems).toContain('transform/drop_personal: pattern (?i)^user is not portable between RE2 and JavaScript');
  });
});
