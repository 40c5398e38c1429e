import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { pino } from 'pino';
import { createCollector, loadConfig } from '../packages/collector/dist/index.js';
import { assertHelmInstalled, helm } from './support/helm.ts';

// The chart and image in deploy/. The chart is linted and rendered by the real helm (test/support/helm.ts);
// every rendered object is validated against the Kubernetes (or Prometheus Operator) API schema, and the
// rendered collector config goes through the collector's own loader, with the pod's environment.

const repo = fileURLToPath(new URL('..', import.meta.url));
const chartDir = join(repo, 'deploy/helm/footfall');
const RELEASE = 'rel';
/** What every install has to say: where Grafana is, inside the cluster and to browsers. */
const GRAFANA = {
  grafana: { url: 'http://grafana.monitoring.svc:80/grafana' },
  ingress: { host: 'grafana.example.com', appSubUrl: '/grafana' },
};
const HASH_SECRET = 'a-hash-secret-of-32-characters!!';
const COLLECTOR_VERSION = (
  JSON.parse(readFileSync(join(repo, 'packages/collector/package.json'), 'utf8')) as { version: string }
).version;

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Rendered Kubernetes objects, checked field by field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
};

/** A model class per apiVersion/kind the chart may render; a kind missing here fails the render. */
type ModelClass = new (data: never) => { validate(): void };
const MODELS: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'networking.k8s.io/v1/Ingress': Ingress,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

/** Validates one rendered object against its API schema, naming it on failure. */
function validateObject(doc: Doc): void {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const Model = MODELS[key];
  if (Model === undefined) {
    throw new Error(`${key} ${doc.metadata?.name}: no kubernetes-models class to validate it with`);
  }
  try {
    new Model(doc as never).validate();
  } catch (err) {
    throw new Error(`${key} ${doc.metadata.name} is not a valid object: ${(err as Error).message}`);
  }
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object'
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** `helm template` with GRAFANA plus `values`; every document parsed and validated. Throws with helm's stderr if it refuses. */
async function render(values: Record<string, unknown> = {}): Promise<Doc[]> {
  const result = await helm(['template', RELEASE, chartDir], deepMerge(GRAFANA, values));
  if (result.code !== 0) {
    throw new Error(`helm template exited ${result.code}: ${result.stderr}`);
  }
  const docs: Doc[] = [];
  for (const doc of parseAllDocuments(result.stdout)) {
    if (doc.errors.length > 0) {
      throw new Error(`helm template printed invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const value = doc.toJS() as Doc | null;
    if (value === null) {
      continue;
    }
    validateObject(value);
    docs.push(value);
  }
  return docs;
}

/** `helm template` that must fail: its stderr. `values` replace GRAFANA's where they overlap. */
async function refused(values: Record<string, unknown>, base: Record<string, unknown> = GRAFANA): Promise<string> {
  const result = await helm(['template', RELEASE, chartDir], deepMerge(base, values));
  expect(result.code, `helm template accepted ${JSON.stringify(values)}`).not.toBe(0);
  expect(result.stdout).toBe('');
  return result.stderr;
}

function one(docs: Doc[], kind: string): Doc {
  const found = docs.filter((d) => d.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
}

const container = (docs: Doc[]) => one(docs, 'Deployment').spec.template.spec.containers[0];
type EnvEntry = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; fieldRef?: { fieldPath: string } };
};

const tmp = mkdtempSync(join(tmpdir(), 'footfall-chart-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The name Kubernetes gives a pod of the Deployment, as the downward API hands it over. */
const POD_NAME = 'rel-footfall-5d8c7b9f4-x2x9q';

/**
 * What the collector in the pod would load: the ConfigMap's file plus the container's env, with field
 * refs and secret refs resolved (the chart's own Secret, or `existing` standing in for a Secret the
 * user made).
 */
function loadRenderedConfig(docs: Doc[], existing: Record<string, Record<string, string>> = {}) {
  const file = join(tmp, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, one(docs, 'ConfigMap').data['config.yaml']);
  const secrets = docs.filter((d) => d.kind === 'Secret');
  const env: Record<string, string> = {};
  for (const entry of container(docs).env as EnvEntry[]) {
    if (entry.value !== undefined) {
      env[entry.name] = entry.value;
    }
    if (entry.valueFrom?.fieldRef?.fieldPath === 'metadata.name') {
      env[entry.name] = POD_NAME;
    }
    const ref = entry.valueFrom?.secretKeyRef;
    if (ref === undefined) {
      continue;
    }
    const secret = secrets.find((s) => s.metadata.name === ref.name);
    const value = secret ? secret.stringData?.[ref.key] : existing[ref.name]?.[ref.key];
    if (typeof value === 'string') {
      env[entry.name] = value;
    } else {
      // The kubelet starts the container without the variable only if the reference is optional.
      expect(ref.optional, `env ${entry.name}: Secret ${ref.name} or its key ${ref.key} is missing`).toBe(true);
    }
  }
  expect(env.FOOTFALL_CONFIG).toBe('/etc/footfall/config.yaml');
  return loadConfig({ file, env: { ...env, FOOTFALL_CONFIG: file } });
}

/** Values a production install might use, every optional object on: the "non-default" set. */
const FULL = {
  replicaCount: 3,
  image: { repository: 'registry.example.com/footfall-collector', tag: '0.1.0-rc1', pullPolicy: 'Always' },
  imagePullSecrets: [{ name: 'registry-creds' }],
  secret: { existingSecret: 'footfall-keys' },
  config: {
    privacy: { hash: { enabled: true } },
    limits: { maxSeriesPerMetric: 200_000 },
    forward: { endpoint: 'http://otel-gateway.monitoring.svc:4318/v1/metrics' },
    log: { level: 'warn' },
  },
  containerPort: 8080,
  metricsPort: 9090,
  service: { port: 80, metricsPort: 9090, annotations: { 'networking.example.com/internal': 'true' } },
  ingress: { enabled: true, className: 'nginx', tls: [{ secretName: 'grafana-tls', hosts: ['grafana.example.com'] }] },
  serviceMonitor: {
    enabled: true,
    interval: '15s',
    scrapeTimeout: '10s',
    labels: { release: 'kube-prometheus-stack' },
  },
  podDisruptionBudget: { enabled: true, maxUnavailable: '50%' },
  resources: { requests: { cpu: '200m', memory: '640Mi' }, limits: { memory: '1Gi' } },
  extraEnv: [{ name: 'FOOTFALL_LOG_LEVEL', value: 'info' }],
  podAnnotations: { 'example.com/team': 'observability' },
  podLabels: { team: 'observability' },
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'monitoring', effect: 'NoSchedule' }],
  topologySpreadConstraints: [
    {
      maxSkew: 1,
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'footfall' } },
    },
  ],
};
/** What the user's footfall-keys Secret holds in FULL. */
const EXISTING = {
  'footfall-keys': {
    'hash-secret': HASH_SECRET,
    'inventory-token': 'glsa_existing_token',
    'forward-token': 'upstream-token',
  },
};

const SCHEMA_ERROR = /values don't meet the specifications of the schema\(s\) in the following chart\(s\):\s*footfall:/;

beforeAll(() => assertHelmInstalled());

describe('helm chart deploy/helm/footfall, through helm', () => {
  it('is linted clean by helm 4 (--strict), on the default values and on a production set', async () => {
    const version = await helm(['version', '--short']);
    expect(version.stdout).toMatch(/^v4\.\d+\.\d+/);
    for (const values of [undefined, deepMerge(GRAFANA, FULL)]) {
      const lint = await helm(['lint', '--strict', chartDir], values);
      expect(lint.code, lint.stdout + lint.stderr).toBe(0);
      expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(lint.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
    // Lint applies the schema too: a wrong value is an error, not a warning.
    const bad = await helm(['lint', '--strict', chartDir], { replicaCount: 'two' });
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/replicaCount.*got string, want integer/);
  });

  it('renders valid Kubernetes objects (kubernetes-models) with the release name and chart labels, defaults and production set alike', async () => {
    const defaults = await render();
    expect(defaults.map((d) => d.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Ingress',
      'PodDisruptionBudget',
      'Service',
    ]);
    expect(container(defaults).image).toBe(`footfall-collector:${COLLECTOR_VERSION}`);
    const full = await render(FULL);
    expect(full.map((d) => d.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Ingress',
      'PodDisruptionBudget',
      'Service',
      'ServiceMonitor',
    ]);
    const withSecret = await render({ serviceMonitor: { enabled: true }, secret: { hashSecret: HASH_SECRET } });
    expect(withSecret.map((d) => d.kind)).toContain('Secret');
    for (const doc of [...defaults, ...full, ...withSecret]) {
      expect(doc.metadata.name, doc.kind).toBe('rel-footfall');
      expect(doc.metadata.labels?.['app.kubernetes.io/instance'], doc.kind).toBe('rel');
      // The chart's appVersion, which names the image tag too, is the collector's version.
      expect(doc.metadata.labels?.['app.kubernetes.io/version'], doc.kind).toBe(COLLECTOR_VERSION);
    }
    // The validation is real: an object the API server would refuse fails the render here too.
    expect(() => validateObject({ ...one(defaults, 'Service'), spec: { ports: [{ port: 'http' }] } })).toThrow(
      /port must be integer/
    );
    expect(() => validateObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } })).toThrow(
      /no kubernetes-models class/
    );
  });

  it('leaves out the optional objects when they are off', async () => {
    const kinds = (await render()).map((d) => d.kind);
    expect(kinds).not.toContain('ServiceMonitor');
    expect(kinds).not.toContain('Secret');
    const bare = await render({ ingress: { enabled: false, host: '' }, podDisruptionBudget: { enabled: false } });
    expect(bare.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Service']);
  });

  it('runs 2 hardened replicas probed on /healthz and /readyz at the container port', async () => {
    const docs = await render();
    const deployment = one(docs, 'Deployment');
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    const [main] = pod.containers;
    const port = main.ports.find((p: { name: string }) => p.name === main.livenessProbe.httpGet.port);
    expect(port.containerPort).toBe(4318);
    expect(main.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(main.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(main.livenessProbe).toMatchObject({ periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 });
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(main.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    // Read-only root: the state file and /tmp are the only writable places, both emptyDirs.
    const mounts = Object.fromEntries(
      main.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name])
    );
    const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, v]));
    expect(volumes[mounts['/var/lib/footfall']].emptyDir).toBeDefined();
    expect(volumes[mounts['/tmp']].emptyDir).toBeDefined();
    expect(volumes[mounts['/etc/footfall']].configMap.name).toBe(one(docs, 'ConfigMap').metadata.name);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(loadRenderedConfig(docs).server.shutdownTimeoutMs / 1000);
  });

  it('produces a config the collector accepts: 0.0.0.0, /metrics on its own port, grafana-session with the Grafana URL, a state file', async () => {
    const config = loadRenderedConfig(await render());
    expect(config.server.listen).toEqual({ host: '0.0.0.0', port: 4318 });
    expect(config.server.metricsListen).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(config.auth.mode).toBe('grafana-session');
    expect(config.auth.grafana.url).toBe('http://grafana.monitoring.svc:80/grafana');
    expect(config.state.file).toBe('/var/lib/footfall/state.json');
    expect(config.privacy.hash.enabled).toBe(false);
    // Every FOOTFALL_ variable the chart sets is one the collector reads.
    const known = Object.keys(await import('../packages/collector/dist/index.js').then((m) => m.CONFIG_ENV));
    for (const entry of container(await render(FULL)).env as EnvEntry[]) {
      if (entry.name.startsWith('FOOTFALL_')) {
        expect(known, entry.name).toContain(entry.name);
      }
    }
  });

  it('starts a collector from the rendered config that answers the probes on their paths and port, and /metrics only on the metrics port', async () => {
    const docs = await render();
    const rendered = loadRenderedConfig(docs);
    const main = container(docs);
    const portOf = (name: string) => main.ports.find((p: { name: string }) => p.name === name).containerPort as number;
    expect(portOf(main.livenessProbe.httpGet.port)).toBe(rendered.server.listen.port);
    expect(portOf(main.readinessProbe.httpGet.port)).toBe(rendered.server.listen.port);
    expect(portOf('metrics')).toBe(rendered.server.metricsListen?.port);
    // The same configuration on free loopback ports, with the state file somewhere writable here.
    const collector = createCollector(
      {
        ...rendered,
        server: {
          ...rendered.server,
          listen: { host: '127.0.0.1', port: 0 },
          metricsListen: { host: '127.0.0.1', port: 0 },
        },
        state: { ...rendered.state, file: join(tmp, 'state.json') },
      },
      { logger: pino({ level: 'silent' }) }
    );
    const ingest = await collector.listen();
    try {
      const status = async (port: number, path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;
      expect(await status(ingest.port, main.livenessProbe.httpGet.path)).toBe(200);
      expect(await status(ingest.port, main.readinessProbe.httpGet.path)).toBe(200);
      // The Ingress's backend port never serves /metrics; the ServiceMonitor's does.
      expect(await status(ingest.port, '/metrics')).toBe(404);
      expect(await status(collector.metricsAddress()!.port, '/metrics')).toBe(200);
    } finally {
      await collector.close();
    }
  });

  it('names each replica after its pod in forwarded data: FOOTFALL_INSTANCE_ID from the downward API', async () => {
    const env = container(await render()).env as EnvEntry[];
    expect(env.find((e) => e.name === 'FOOTFALL_INSTANCE_ID')).toEqual({
      name: 'FOOTFALL_INSTANCE_ID',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    const config = loadRenderedConfig(
      await render({ config: { forward: { endpoint: 'http://otel-gateway.monitoring.svc:4318/v1/metrics' } } })
    );
    expect(config.forward.instanceId).toBe(POD_NAME);
  });

  it('passes collector config from values through to the ConfigMap, where the collector validates it', async () => {
    expect(
      loadRenderedConfig(await render({ config: { limits: { maxSeriesPerMetric: 500 } } })).limits.maxSeriesPerMetric
    ).toBe(500);
    const tooMany = await render({ config: { limits: { maxAttributesPerPoint: 1000 } } });
    expect(() => loadRenderedConfig(tooMany)).toThrow(/limits\.maxAttributesPerPoint/);
  });

  it('rolls the pods when the config or a secret value changes, and only then', async () => {
    const annotations = async (values: Record<string, unknown>) =>
      one(await render(values), 'Deployment').spec.template.metadata.annotations as Record<string, string>;
    const base = await annotations({ secret: { inventoryToken: 'glsa_one' } });
    expect(base['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    expect(base['checksum/secret']).toMatch(/^[0-9a-f]{64}$/);
    const relogged = await annotations({ secret: { inventoryToken: 'glsa_one' }, config: { log: { level: 'debug' } } });
    expect(relogged['checksum/config']).not.toBe(base['checksum/config']);
    expect(relogged['checksum/secret']).toBe(base['checksum/secret']);
    const rotated = await annotations({ secret: { inventoryToken: 'glsa_two' } });
    expect(rotated['checksum/secret']).not.toBe(base['checksum/secret']);
    expect(rotated['checksum/config']).toBe(base['checksum/config']);
    const scaled = await annotations({ secret: { inventoryToken: 'glsa_one' }, replicaCount: 5 });
    expect(scaled).toEqual(base);
    // Never the secret itself, only its hash.
    expect(JSON.stringify(rotated)).not.toContain('glsa_two');
  });

  it("refuses to render, with helm's message, without the values an install needs", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ grafana: { url: '' } }, /grafana\.url is required: Grafana as the collector reaches it/],
      [{ ingress: { host: '' } }, /ingress\.host is required: Grafana's public host name/],
      [
        { config: { privacy: { hash: { enabled: true } } } },
        /secret\.hashSecret is required when config\.privacy\.hash\.enabled is true/,
      ],
      [{ auth: { mode: 'bearer' } }, /secret\.bearerTokens is required with auth\.mode bearer/],
      [{ auth: { mode: 'proxy-header' } }, /auth\.mode proxy-header needs config\.auth\.proxyHeader\.trustedProxies/],
      [{ auth: { mode: 'none' } }, /auth\.mode none accepts every request/],
      [
        {
          auth: { mode: 'bearer' },
          grafana: { url: '' },
          secret: { bearerTokens: 'token-one-0123456789', inventoryToken: 'glsa_x' },
        },
        /grafana\.url is required with secret\.inventoryToken/,
      ],
      [{ metricsPort: 4318 }, /metricsPort must differ from containerPort \(both 4318\)/],
      // Keys the chart owns: a secret in the ConfigMap, or a listen address the environment would override.
      [
        { config: { privacy: { hash: { secret: HASH_SECRET } } } },
        /config\.privacy\.hash\.secret is set by the chart: set secret\.hashSecret/,
      ],
      [
        { config: { server: { listen: '0.0.0.0:9999' } } },
        /config\.server\.listen is set by the chart: set containerPort instead/,
      ],
      [{ config: { forward: { bearerToken: 'upstream-token' } } }, /config\.forward\.bearerToken is set by the chart/],
    ];
    const stderrs = await Promise.all(cases.map(([values]) => refused(values)));
    cases.forEach(([values, message], i) => {
      expect(stderrs[i], JSON.stringify(values)).toMatch(/^Error: execution error at \(footfall\/templates\//);
      expect(stderrs[i], JSON.stringify(values)).toMatch(message);
    });
    // Each of those modes renders once its requirement is met, and the collector takes the result.
    const bearer = await render({
      grafana: { url: '' },
      auth: { mode: 'bearer' },
      secret: { bearerTokens: 'token-one-0123456789,token-two-0123456789' },
    });
    expect(loadRenderedConfig(bearer).auth.bearer.tokens).toEqual(['token-one-0123456789', 'token-two-0123456789']);
    const proxy = await render({
      auth: { mode: 'proxy-header' },
      config: { auth: { proxyHeader: { trustedProxies: ['10.42.0.0/16'] } } },
    });
    expect(loadRenderedConfig(proxy).auth).toMatchObject({
      mode: 'proxy-header',
      proxyHeader: { trustedProxies: ['10.42.0.0/16'] },
    });
    const open = await render({
      grafana: { url: '' },
      auth: { mode: 'none' },
      config: { auth: { none: { allowNonLoopback: true } } },
    });
    expect(loadRenderedConfig(open).auth.mode).toBe('none');
  });

  it("rejects wrong values with helm's schema error (values.schema.json)", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ replicaCount: 'two' }, /at '\/replicaCount': got string, want integer/],
      [{ containerPort: 70000 }, /at '\/containerPort': maximum: got 70,000, want 65,535/],
      [{ service: { port: 0 } }, /at '\/service\/port': minimum: got 0, want 1/],
      [{ replicas: 2 }, /additional properties 'replicas' not allowed/],
      [
        { auth: { mode: 'oauth' } },
        /at '\/auth\/mode': value must be one of 'grafana-session', 'proxy-header', 'bearer', 'none'/,
      ],
      [{ config: { limit: { maxSeriesPerMetric: 10 } } }, /at '\/config': additional properties 'limit' not allowed/],
      [{ grafana: { url: 'grafana.monitoring.svc' } }, /at '\/grafana\/url'/],
      [{ ingress: { host: 'https://grafana.example.com' } }, /at '\/ingress\/host'/],
      [{ ingress: { pathType: 'exact' } }, /at '\/ingress\/pathType': value must be one of/],
      [{ serviceMonitor: { interval: '30 seconds' } }, /at '\/serviceMonitor\/interval'/],
      [{ resources: { limits: { memory: 'lots' } } }, /at '\/resources\/limits\/memory'/],
    ];
    const stderrs = await Promise.all(cases.map(([values]) => refused(values)));
    cases.forEach(([values, message], i) => {
      expect(stderrs[i], JSON.stringify(values)).toMatch(SCHEMA_ERROR);
      expect(stderrs[i], JSON.stringify(values)).toMatch(message);
    });
    // Every section of the collector's configuration may be set, and nothing else.
    const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as {
      properties: { config: { properties: object } };
    };
    expect(Object.keys(schema.properties.config.properties).sort()).toEqual(
      Object.keys(loadConfig({ env: {} })).sort()
    );
  });

  it('keeps the hash secret in a Secret the container reads, and requires it when hashing is on', async () => {
    const docs = await render({
      config: { privacy: { hash: { enabled: true } } },
      secret: { hashSecret: HASH_SECRET },
    });
    expect(one(docs, 'ConfigMap').data['config.yaml']).not.toContain('a-hash-secret');
    expect(one(docs, 'Secret').type).toBe('Opaque');
    const config = loadRenderedConfig(docs);
    expect(config.privacy.hash).toMatchObject({ enabled: true, secret: HASH_SECRET });
  });

  it('reads every secret from an existing Secret instead of creating one', async () => {
    const docs = await render(FULL);
    expect(docs.map((d) => d.kind)).not.toContain('Secret');
    const refs = (container(docs).env as EnvEntry[]).flatMap((e) =>
      e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []
    );
    expect(refs.map((r) => r.name)).toEqual(Array(5).fill('footfall-keys'));
    expect(refs.map((r) => r.key)).toEqual([
      'hash-secret',
      'bearer-tokens',
      'inventory-token',
      'inventory-tokens',
      'forward-token',
    ]);
    // The pod starts without the keys it does not need; the collector says which one it misses.
    expect(refs.every((r) => r.optional === true)).toBe(true);
    expect(one(docs, 'Deployment').spec.template.metadata.annotations['checksum/secret']).toBeUndefined();
    const config = loadRenderedConfig(docs, EXISTING);
    expect(config.privacy.hash).toMatchObject({ enabled: true, secret: HASH_SECRET });
    expect(config.inventory.token).toBe('glsa_existing_token');
    expect(config.forward).toMatchObject({
      endpoint: 'http://otel-gateway.monitoring.svc:4318/v1/metrics',
      bearerToken: 'upstream-token',
    });
    expect(() => loadRenderedConfig(docs, { 'footfall-keys': {} })).toThrow(/privacy\.hash\.secret/);
    // Key names of your own choosing.
    const renamed = await render({ ...FULL, secret: { existingSecret: 'footfall-keys', hashSecretKey: 'HASH' } });
    expect(
      (container(renamed).env as EnvEntry[]).find((e) => e.name === 'FOOTFALL_HASH_SECRET')?.valueFrom?.secretKeyRef
        ?.key
    ).toBe('HASH');
  });

  it('hands the inventory and forward tokens to the collector from the Secret, never from the ConfigMap', async () => {
    const docs = await render({
      config: { forward: { endpoint: 'http://otel-gateway.monitoring.svc:4318/v1/metrics' } },
      secret: {
        inventoryToken: 'glsa_inventory_token_1',
        inventoryTokens: 'glsa_org2,glsa_org3',
        forwardToken: 'upstream-token-1',
      },
    });
    expect(one(docs, 'ConfigMap').data['config.yaml']).not.toMatch(/glsa_|upstream-token/);
    const config = loadRenderedConfig(docs);
    expect(config.inventory.token).toBe('glsa_inventory_token_1');
    expect(config.inventory.orgs).toEqual([{ token: 'glsa_org2' }, { token: 'glsa_org3' }]);
    expect(config.forward.bearerToken).toBe('upstream-token-1');
  });

  it('exposes the Service ports http (exports, probes) and metrics (/metrics), each on the container port of its name, selecting the pods', async () => {
    const docs = await render();
    const service = one(docs, 'Service');
    expect(service.spec.ports).toEqual([
      { name: 'http', port: 4318, targetPort: 'http', protocol: 'TCP' },
      { name: 'metrics', port: 9464, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    expect(one(docs, 'Deployment').spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(container(docs).ports).toEqual([
      { name: 'http', containerPort: 4318, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9464, protocol: 'TCP' },
    ]);
    // The ports the collector listens on are the ones named so.
    const config = loadRenderedConfig(docs);
    expect([config.server.listen.port, config.server.metricsListen?.port]).toEqual([4318, 9464]);
    const moved = await render(FULL);
    const movedConfig = loadRenderedConfig(moved, EXISTING);
    expect([movedConfig.server.listen.port, movedConfig.server.metricsListen?.port]).toEqual([8080, 9090]);
    const containerPorts = Object.fromEntries(
      container(moved).ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort])
    );
    for (const port of one(moved, 'Service').spec.ports as Array<{ name: string; targetPort: string }>) {
      expect(containerPorts[port.targetPort], port.name).toBe(
        port.name === 'http' ? movedConfig.server.listen.port : movedConfig.server.metricsListen?.port
      );
    }
  });

  it("routes exactly <appSubUrl>/footfall/v1/metrics on Grafana's host to the collector, and nothing else", async () => {
    for (const [appSubUrl, path] of [
      ['/grafana', '/grafana/footfall/v1/metrics'],
      ['/grafana/', '/grafana/footfall/v1/metrics'],
      ['', '/footfall/v1/metrics'],
    ] as const) {
      const ingress = one(await render({ ingress: { appSubUrl } }), 'Ingress');
      expect(ingress.spec.rules).toHaveLength(1);
      const [rule] = ingress.spec.rules;
      expect(rule.host).toBe('grafana.example.com');
      // The http port: the collector's ingest listener, which answers 404 for /metrics.
      expect(rule.http.paths).toEqual([
        { path, pathType: 'Exact', backend: { service: { name: 'rel-footfall', port: { name: 'http' } } } },
      ]);
    }
    const ingress = one(await render(FULL), 'Ingress');
    // The collector serves /v1/metrics: the public path must be rewritten to it.
    expect(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/rewrite-target']).toBe('/v1/metrics');
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.tls).toEqual([{ secretName: 'grafana-tls', hosts: ['grafana.example.com'] }]);
  });

  it("scrapes /metrics on the Service's metrics port (not the Ingress's) through a ServiceMonitor that selects the Service", async () => {
    const docs = await render(FULL);
    const monitor = one(docs, 'ServiceMonitor');
    const service = one(docs, 'Service');
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.metadata.labels?.release).toBe('kube-prometheus-stack');
    expect(monitor.spec.endpoints).toEqual([
      { port: 'metrics', path: '/metrics', interval: '15s', scrapeTimeout: '10s' },
    ]);
    const ingressPort = one(docs, 'Ingress').spec.rules[0].http.paths[0].backend.service.port.name;
    expect(ingressPort).not.toBe(monitor.spec.endpoints[0].port);
    const servicePort = service.spec.ports.find((p: { name: string }) => p.name === monitor.spec.endpoints[0].port);
    const containerPort = container(docs).ports.find(
      (p: { name: string }) => p.name === servicePort.targetPort
    ).containerPort;
    expect(containerPort).toBe(loadRenderedConfig(docs, EXISTING).server.metricsListen?.port);
  });

  it('keeps the pods available through a drain with the PodDisruptionBudget, selecting the pods', async () => {
    const docs = await render(FULL);
    const pdb = one(docs, 'PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable).toBe('50%');
    expect(one(docs, 'Deployment').spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(one(await render(), 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
  });

  it("sizes the pod from the measured RSS (BENCHMARKS.md) and keeps V8's heap under the memory limit", async () => {
    const rss = measuredRss();
    const mib = (quantity: string) => {
      const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
      if (!m) {
        throw new Error(`unexpected quantity ${quantity}`);
      }
      return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
    };
    const main = container(await render());
    const heapOf = (c: { env: EnvEntry[] }) =>
      Number(/^--max-old-space-size=(\d+)$/.exec(c.env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '')?.[1]);
    expect(main.resources).toEqual({ requests: { cpu: '50m', memory: '192Mi' }, limits: { memory: '512Mi' } });
    // The request holds the 10,000-series process; the limit the 100,000 series measured, with headroom.
    expect(mib(main.resources.requests.memory)).toBeGreaterThanOrEqual(rss.get(10_000)!);
    expect(mib(main.resources.limits.memory)).toBeGreaterThanOrEqual(rss.get(100_000)! * 1.15);
    // The collector's default cap, which the limit was sized for.
    expect(loadConfig({ env: {} }).limits.maxSeriesPerMetric).toBe(50_000);
    const heap = heapOf(main);
    expect(heap).toBe(320);
    expect(heap + 128).toBeLessThanOrEqual(mib(main.resources.limits.memory));
    // A larger limit brings a larger heap along; an explicit heap too close to the limit is refused.
    expect(heapOf(container(await render(FULL)))).toBe(640);
    expect(heapOf(container(await render({ heap: { maxOldSpaceMiB: 256 } })))).toBe(256);
    expect(await refused({ heap: { maxOldSpaceMiB: 450 } })).toMatch(
      /heap\.maxOldSpaceMiB 450 leaves less than 128 MiB of resources\.limits\.memory \(512 MiB\)/
    );
    // A NODE_OPTIONS of the user's own (extraEnv) replaces the chart's rather than doubling it.
    const own = container(await render({ extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=300' }] }));
    expect((own.env as EnvEntry[]).filter((e) => e.name === 'NODE_OPTIONS')).toEqual([
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=300' },
    ]);
  });

  it('documents every value in values.yaml and the README, and uses every top-level one', () => {
    const text = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
    const values = parseYaml(text) as Record<string, unknown>;
    const templates = readTemplates();
    for (const key of Object.keys(values)) {
      expect(templates, `values.${key} is never used`).toMatch(new RegExp(`\\.Values\\.${key}\\b`));
    }
    // The values a user must or may need to set come with a comment saying what they are.
    const lines = text.split('\n');
    for (const key of [
      'replicaCount',
      'grafana',
      'auth',
      'config',
      'secret',
      'ingress',
      'serviceMonitor',
      'state',
      'resources',
      'heap',
    ]) {
      const at = lines.findIndex((l) => l.startsWith(`${key}:`));
      expect(lines[at - 1], `values.yaml: ${key} has no comment above it`).toMatch(/^#/);
    }
    for (const key of [
      'url',
      'mode',
      'existingSecret',
      'hashSecret',
      'host',
      'appSubUrl',
      'annotations',
      'forwardToken',
    ]) {
      const at = lines.findIndex((l) => l.trim().startsWith(`${key}:`));
      expect(lines[at - 1]?.trim(), `values.yaml: ${key} has no comment above it`).toMatch(/^#/);
    }
    // The README's table has a row for each value, or for a map holding it (podSecurityContext).
    const readme = readFileSync(join(chartDir, 'README.md'), 'utf8');
    const rows = new Set([...readme.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1]!));
    for (const path of leafPaths(values)) {
      const documented = path.split('.').some((_, i, parts) => rows.has(parts.slice(0, i + 1).join('.')));
      expect(documented, `README.md has no row for ${path}`).toBe(true);
    }
    for (const row of rows) {
      expect(
        leafPaths(values).some((p) => p === row || p.startsWith(`${row}.`)),
        `README.md documents ${row}, which values.yaml lacks`
      ).toBe(true);
    }
  });
});

/** values.yaml's settable paths: nested maps of plain keys are followed, anything else is one value. */
function leafPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, v]) => {
    const path = `${prefix}${key}`;
    const nested =
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      Object.keys(v).length > 0 &&
      Object.keys(v).every((k) => /^[A-Za-z]\w*$/.test(k));
    return nested ? leafPaths(v as Record<string, unknown>, `${path}.`) : [path];
  });
}

/** RSS after the scrapes, in MiB, by series held, from BENCHMARKS.md's memory table. */
function measuredRss(): Map<number, number> {
  const lines = readFileSync(join(repo, 'BENCHMARKS.md'), 'utf8').split('\n');
  const header = lines.findIndex((l) => l.startsWith('|') && l.includes('RSS after the scrapes (MiB)'));
  expect(header, 'BENCHMARKS.md has no memory table').toBeGreaterThan(0);
  const cells = (line: string) =>
    line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
  const column = cells(lines[header]!).findIndex((c) => c.startsWith('RSS after the scrapes'));
  const rss = new Map<number, number>();
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) {
      break;
    }
    const row = cells(line);
    rss.set(Number(row[0]!.replace(/,/g, '')), Number(row[column]!.replace(/\*/g, '')));
  }
  expect([...rss.keys()]).toEqual([10_000, 100_000]);
  return rss;
}

function readTemplates(): string {
  return [
    '_helpers.tpl',
    'configmap.yaml',
    'deployment.yaml',
    'ingress.yaml',
    'pdb.yaml',
    'secret.yaml',
    'service.yaml',
    'servicemonitor.yaml',
  ]
    .map((f) => readFileSync(join(chartDir, 'templates', f), 'utf8'))
    .join('\n');
}

describe('container image deploy/docker/Dockerfile', () => {
  const dockerfile = readFileSync(join(repo, 'deploy/docker/Dockerfile'), 'utf8');
  // Instructions with their continuation lines joined; comments dropped.
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.trim().split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
  const stages: Array<{ from: string; name: string; body: typeof instructions }> = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      stages.push({ from: m[1]!, name: m[2] ?? '', body: [] });
    } else {
      stages.at(-1)?.body.push(ins);
    }
  }
  const final = stages.at(-1)!;
  const last = (op: string) => final.body.filter((i) => i.op === op).at(-1)?.args ?? '';

  it('builds in named stages and runs on node:22-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      expect(stage.name, stage.from).toMatch(/^[a-z][\w-]*$/);
    }
    expect(final.from).toMatch(/^node:22(-bookworm)?-slim(@sha256:[0-9a-f]{64})?$/);
    expect(stages.find((s) => s.body.some((i) => /npx tsc -b|npm run build/.test(i.args)))).toBeDefined();
  });

  it('runs as a non-root user, listening on 0.0.0.0:4318, with a healthcheck on /healthz', () => {
    expect(last('USER')).toMatch(/^(node|[1-9]\d*)(:\S+)?$/);
    expect(final.body.map((i) => i.op)).toContain('HEALTHCHECK');
    expect(last('HEALTHCHECK')).toContain('node');
    expect(readFileSync(join(repo, 'deploy/docker/healthcheck.mjs'), 'utf8')).toContain('/healthz');
    expect(last('EXPOSE')).toBe('4318');
    expect(
      final.body
        .filter((i) => i.op === 'ENV')
        .map((i) => i.args)
        .join(' ')
    ).toMatch(/FOOTFALL_LISTEN=0\.0\.0\.0:4318/);
  });

  it('serves /metrics on a second port it does not EXPOSE, so publishing the ingest port (or -P) leaves /metrics private', () => {
    expect(
      final.body
        .filter((i) => i.op === 'ENV')
        .map((i) => i.args)
        .join(' ')
    ).toMatch(/FOOTFALL_METRICS_LISTEN=0\.0\.0\.0:9464\b/);
    expect(final.body.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/))).toEqual(['4318']);
    // The README's docker run publishes the ingest port alone.
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const run = /docker run [^\n]*(?:\\\n[^\n]*)*/.exec(readme)?.[0] ?? '';
    expect(run.match(/-p\s+\S+/g)).toEqual(['-p 4318:4318']);
    expect(last('ENTRYPOINT') + last('CMD')).toContain('packages/collector/dist/main.js');
  });

  it('keeps dev dependencies and build tools out of the final stage', () => {
    for (const ins of final.body.filter((i) => i.op === 'RUN')) {
      expect(ins.args).not.toMatch(/npm (install|i|ci)\b/);
    }
    const deps = stages.find((s) =>
      final.body.some((i) => i.op === 'COPY' && i.args.includes(`--from=${s.name} /app `))
    );
    expect(deps?.body.find((i) => i.op === 'RUN')?.args).toMatch(/npm ci --omit=dev/);
    // The state directory is the only thing the process may write.
    expect(final.body.some((i) => i.op === 'VOLUME' && i.args.includes('/var/lib/footfall'))).toBe(true);
    expect(
      final.body
        .filter((i) => i.op === 'ENV')
        .map((i) => i.args)
        .join(' ')
    ).toContain('FOOTFALL_STATE_FILE=/var/lib/footfall/state.json');
  });

  it('sends only the sources it needs as build context', () => {
    const ignore = readFileSync(join(repo, 'deploy/docker/Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const pattern of ['**/node_modules', '**/dist', '**/test-results', '.git']) {
      expect(ignore).toContain(pattern);
    }
    expect(ignore[ignore.findIndex((l) => l !== '' && !l.startsWith('#'))]).toBe('*');
    // Every file a COPY from the context names is allowed back in.
    for (const ins of stages.flatMap((s) => s.body).filter((i) => i.op === 'COPY' && !i.args.includes('--from'))) {
      const sources = ins.args.split(/\s+/).slice(0, -1);
      for (const source of sources.map((s) => s.replace(/\/$/, ''))) {
        const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
        expect(
          allowed.some((a) => a === source || a.startsWith(`${source}/`)),
          `COPY ${source} is excluded from the context`
        ).toBe(true);
      }
    }
  });
});
