import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type CollectorConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Environment variables the collector reads, each overriding its key in the file. */
export const CONFIG_ENV = {
  FOOTFALL_CONFIG: 'path of the YAML configuration file',
  FOOTFALL_LISTEN: 'server.listen',
  FOOTFALL_METRICS_LISTEN: 'server.metricsListen: a second listener for /metrics',
  FOOTFALL_LOG_LEVEL: 'log.level',
  FOOTFALL_HASH_SECRET: 'privacy.hash.secret (keep secrets out of files)',
  FOOTFALL_AUTH_MODE: 'auth.mode: grafana-session, proxy-header, bearer or none',
  FOOTFALL_GRAFANA_URL: "auth.grafana.url, with Grafana's sub-path",
  FOOTFALL_BEARER_TOKENS: 'auth.bearer.tokens, comma-separated (keep secrets out of files)',
  FOOTFALL_STATE_FILE: 'state.file',
  FOOTFALL_INVENTORY_TOKEN:
    'inventory.token: a Grafana service-account token to list dashboards with (keep secrets out of files)',
  FOOTFALL_INVENTORY_TOKENS: 'inventory.orgs: one service-account token per further org, comma-separated',
  FOOTFALL_FORWARD_ENDPOINT: 'forward.endpoint',
  FOOTFALL_FORWARD_TOKEN: 'forward.bearerToken (keep secrets out of files)',
  FOOTFALL_INSTANCE_ID: 'forward.instanceId (the pod name: service.instance.id of forwarded data)',
} as const;

export interface ConfigSources {
  /** Path from --config, else FOOTFALL_CONFIG; none means the embedded defaults. */
  readonly file?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Values from command-line flags; they win over everything. */
  readonly flags?: { readonly listen?: string | undefined; readonly logLevel?: string | undefined };
}

/**
 * Builds the configuration once at start: embedded defaults < YAML file < environment < flags, then
 * validates the whole of it. Any problem throws a ConfigError naming the offending key.
 */
export function loadConfig(sources: ConfigSources): CollectorConfig {
  const path = sources.file ?? sources.env.FOOTFALL_CONFIG;
  const raw = path === undefined ? {} : readYaml(path);
  const env = sources.env;
  setIn(raw, ['server', 'listen'], sources.flags?.listen ?? env.FOOTFALL_LISTEN);
  setIn(raw, ['server', 'metricsListen'], env.FOOTFALL_METRICS_LISTEN);
  setIn(raw, ['log', 'level'], sources.flags?.logLevel ?? env.FOOTFALL_LOG_LEVEL);
  setIn(raw, ['privacy', 'hash', 'secret'], env.FOOTFALL_HASH_SECRET);
  setIn(raw, ['auth', 'mode'], env.FOOTFALL_AUTH_MODE);
  setIn(raw, ['auth', 'grafana', 'url'], env.FOOTFALL_GRAFANA_URL);
  setIn(raw, ['state', 'file'], env.FOOTFALL_STATE_FILE);
  setIn(raw, ['inventory', 'token'], env.FOOTFALL_INVENTORY_TOKEN);
  setIn(raw, ['forward', 'endpoint'], env.FOOTFALL_FORWARD_ENDPOINT);
  setIn(raw, ['forward', 'bearerToken'], env.FOOTFALL_FORWARD_TOKEN);
  setIn(raw, ['forward', 'instanceId'], env.FOOTFALL_INSTANCE_ID);
  const tokens = env.FOOTFALL_BEARER_TOKENS?.split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  setIn(raw, ['auth', 'bearer', 'tokens'], tokens);
  const orgTokens = env.FOOTFALL_INVENTORY_TOKENS?.split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  setIn(
    raw,
    ['inventory', 'orgs'],
    orgTokens?.map((token) => ({ token }))
  );
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(describe(result.error, path));
  }
  return result.data;
}

function readYaml(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) {
    return {};
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a mapping at the top level`);
  }
  return parsed as Record<string, unknown>;
}

function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  if (value === undefined) {
    return;
  }
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      node[key] = {};
    }
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function describe(error: z.ZodError, path: string | undefined): string {
  const where = path ? ` in ${path}` : '';
  return error.issues
    .map((issue) => {
      const key = issue.path.join('.') || '(top level)';
      const keys = 'keys' in issue && Array.isArray(issue.keys) ? `: ${issue.keys.join(', ')}` : '';
      return `invalid configuration${where} at ${key}: ${issue.message}${keys}`;
    })
    .join('\n');
}
