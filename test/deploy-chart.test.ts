import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { loadConfig } from '../packages/collector/dist/index.js';
import { renderChart, type RenderOptions } from './support/helm-template.ts';

// The chart and image in deploy/, checked without helm or docker: the templates are rendered by
// test/support/helm-template.ts and the rendered collector config goes through the collector's own loader.

const repo = fileURLToPath(new URL('..', import.meta.url));
const chartDir = join(repo, 'deploy/helm/footfall');
const GRAFANA = { grafana: { url: 'http://grafana.monitoring.svc:80/grafana' }, ingress: { host: 'grafana.example.com', appSubUrl: '/grafana' } };

type Doc = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered Kubernetes objects, checked field by field

function render(values: Record<string, unknown> = {}, options: RenderOptions = {}): Doc[] {
  const docs: Doc[] = [];
  for (const { file, text } of renderChart(chartDir, { releaseName: 'rel', ...options, values: deepMerge(GRAFANA, values) })) {
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const value = doc.toJS() as Doc | null;
      if (value !== null) docs.push(value);
    }
  }
  return docs;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

function one(docs: Doc[], kind: string): Doc {
  const found = docs.filter((d) => d.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
}

const tmp = mkdtempSync(join(tmpdir(), 'footfall-chart-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The name Kubernetes gives a pod of the Deployment, as the downward API hands it over. */
const POD_NAME = 'rel-footfall-5d8c7b9f4-x2x9q';

/** What the collector in the pod would load: the ConfigMap's file plus the container's env, Secret and field refs resolved. */
function loadRenderedConfig(docs: Doc[]) {
  const file = join(tmp, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, one(docs, 'ConfigMap').data['config.yaml']);
  const secrets = docs.filter((d) => d.kind === 'Secret');
  const env: Record<string, string> = {};
  const container = one(docs, 'Deployment').spec.template.spec.containers[0];
  type EnvEntry = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } };
  for (const entry of container.env as EnvEntry[]) {
    if (entry.value !== undefined) env[entry.name] = entry.value;
    if (entry.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[entry.name] = POD_NAME;
    const ref = entry.valueFrom?.secretKeyRef;
    const secret = ref && secrets.find((s) => s.metadata.name === ref.name);
    const value = ref && secret?.stringData?.[ref.key];
    if (typeof value === 'string') env[entry.name] = value;
  }
  expect(env.FOOTFALL_CONFIG).toBe('/etc/footfall/config.yaml');
  return loadConfig({ file, env: { ...env, FOOTFALL_CONFIG: file } });
}

describe('helm chart deploy/helm/footfall', () => {
  it('renders every template to YAML objects with apiVersion, kind, name and the chart labels', () => {
    const docs = render({ serviceMonitor: { enabled: true }, secret: { hashSecret: 'a-hash-secret-of-32-characters!!' } });
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Ingress', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceMonitor']);
    for (const doc of docs) {
      expect(doc.apiVersion, doc.kind).toMatch(/^[\w.]+(\/v\d\w*)?$/);
      expect(doc.metadata.name, doc.kind).toBe('rel-footfall');
      expect(doc.metadata.labels?.['app.kubernetes.io/instance'], doc.kind).toBe('rel');
    }
  });

  it('leaves out the optional objects by default', () => {
    const kinds = render().map((d) => d.kind);
    expect(kinds).not.toContain('ServiceMonitor');
    expect(kinds).not.toContain('Secret');
    expect(render({ ingress: { enabled: false }, podDisruptionBudget: { enabled: false } }).map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Service']);
  });

  it('runs 2 hardened replicas probed on /healthz and /readyz at the container port', () => {
    const deployment = one(render(), 'Deployment');
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(deployment.spec.selector.matchLabels).toEqual(
      Object.fromEntries(Object.entries(deployment.spec.template.metadata.labels).filter(([k]) => k in deployment.spec.selector.matchLabels)),
    );
    const [container] = pod.containers;
    const port = container.ports.find((p: { name: string }) => p.name === container.livenessProbe.httpGet.port);
    expect(port.containerPort).toBe(4318);
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits.memory).toBeDefined();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    // Read-only root: the state file and /tmp are the only writable places, both emptyDirs.
    const mounts = Object.fromEntries(container.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]));
    const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, v]));
    expect(volumes[mounts['/var/lib/footfall']].emptyDir).toBeDefined();
    expect(volumes[mounts['/tmp']].emptyDir).toBeDefined();
    expect(volumes[mounts['/etc/footfall']].configMap.name).toBe(one(render(), 'ConfigMap').metadata.name);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(10);
  });

  it('produces a config the collector accepts: 0.0.0.0, /metrics on its own port, grafana-session with the Grafana URL, a state file', () => {
    const config = loadRenderedConfig(render());
    expect(config.server.listen).toEqual({ host: '0.0.0.0', port: 4318 });
    expect(config.server.metricsListen).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(config.auth.mode).toBe('grafana-session');
    expect(config.auth.grafana.url).toBe('http://grafana.monitoring.svc:80/grafana');
    expect(config.state.file).toBe('/var/lib/footfall/state.json');
    expect(config.privacy.hash.enabled).toBe(false);
  });

  it('names each replica after its pod in forwarded data: FOOTFALL_INSTANCE_ID from the downward API', () => {
    const env = one(render(), 'Deployment').spec.template.spec.containers[0].env;
    expect(env.find((e: { name: string }) => e.name === 'FOOTFALL_INSTANCE_ID')).toEqual({
      name: 'FOOTFALL_INSTANCE_ID',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    const config = loadRenderedConfig(render({ config: { forward: { endpoint: 'http://otel-gateway.monitoring.svc:4318/v1/metrics' } } }));
    expect(config.forward.instanceId).toBe(POD_NAME);
  });

  it('passes collector config from values through to the ConfigMap, where the collector validates it', () => {
    expect(loadRenderedConfig(render({ config: { limits: { maxSeriesPerMetric: 500 } } })).limits.maxSeriesPerMetric).toBe(500);
    expect(() => loadRenderedConfig(render({ config: { limits: { maxAttributesPerPoint: 1000 } } }))).toThrow(/limits\.maxAttributesPerPoint/);
  });

  it('changes the pod template when the config changes, so the pods roll', () => {
    const checksum = (docs: Doc[]) => one(docs, 'Deployment').spec.template.metadata.annotations['checksum/config'];
    expect(checksum(render())).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(render({ config: { log: { level: 'debug' } } }))).not.toBe(checksum(render()));
  });

  it('refuses to render without grafana.url, or without the ingress host', () => {
    expect(() => render({ grafana: { url: '' } })).toThrow(/grafana\.url is required/);
    expect(() => render({ ingress: { host: '' } })).toThrow(/ingress\.host is required/);
    // bearer mode does not need Grafana.
    const bearer = render({ grafana: { url: '' }, auth: { mode: 'bearer' }, secret: { bearerTokens: 'token-one-0123456789,token-two-0123456789' } });
    expect(loadRenderedConfig(bearer).auth.bearer.tokens).toEqual(['token-one-0123456789', 'token-two-0123456789']);
  });

  it('keeps the hash secret in a Secret the container reads, and requires it when hashing is on', () => {
    expect(() => render({ config: { privacy: { hash: { enabled: true } } } })).toThrow(/secret\.hashSecret is required/);
    const docs = render({ config: { privacy: { hash: { enabled: true } } }, secret: { hashSecret: 'a-hash-secret-of-32-characters!!' } });
    expect(one(docs, 'ConfigMap').data['config.yaml']).not.toContain('a-hash-secret');
    const config = loadRenderedConfig(docs);
    expect(config.privacy.hash).toMatchObject({ enabled: true, secret: 'a-hash-secret-of-32-characters!!' });
  });

  it('uses an existing Secret instead of creating one', () => {
    const docs = render({ config: { privacy: { hash: { enabled: true } } }, secret: { existingSecret: 'footfall-keys' } });
    expect(docs.map((d) => d.kind)).not.toContain('Secret');
    const env = one(docs, 'Deployment').spec.template.spec.containers[0].env;
    const refs = env
      .filter((e: { valueFrom?: { secretKeyRef?: unknown } }) => e.valueFrom?.secretKeyRef)
      .map((e: { valueFrom: { secretKeyRef: { name: string } } }) => e.valueFrom.secretKeyRef.name);
    // The hash secret, the bearer tokens and the inventory's tokens.
    expect(refs).toEqual(['footfall-keys', 'footfall-keys', 'footfall-keys', 'footfall-keys']);
  });

  it('hands the inventory tokens to the collector from the Secret, never from the ConfigMap', () => {
    const docs = render({ grafana: { url: 'http://grafana.monitoring.svc/grafana' }, secret: { inventoryToken: 'glsa_inventory_token_1', inventoryTokens: 'glsa_org2,glsa_org3' } });
    expect(one(docs, 'ConfigMap').data['config.yaml']).not.toContain('glsa_');
    const config = loadRenderedConfig(docs);
    expect(config.inventory.token).toBe('glsa_inventory_token_1');
    expect(config.inventory.orgs).toEqual([{ token: 'glsa_org2' }, { token: 'glsa_org3' }]);
  });

  it('exposes the Service ports http (exports, probes) and metrics (/metrics), each on the container port of its name, selecting the pods', () => {
    const docs = render();
    const service = one(docs, 'Service');
    expect(service.spec.ports).toEqual([
      { name: 'http', port: 4318, targetPort: 'http', protocol: 'TCP' },
      { name: 'metrics', port: 9464, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    expect(one(docs, 'Deployment').spec.template.metadata.labels).toMatchObject(service.spec.selector);
    const container = one(docs, 'Deployment').spec.template.spec.containers[0];
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 4318, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9464, protocol: 'TCP' },
    ]);
    // The ports the collector listens on are the ones named so.
    const config = loadRenderedConfig(docs);
    expect([config.server.listen.port, config.server.metricsListen?.port]).toEqual([4318, 9464]);
    const moved = loadRenderedConfig(render({ containerPort: 8080, metricsPort: 9090, service: { metricsPort: 9090 } }));
    expect([moved.server.listen.port, moved.server.metricsListen?.port]).toEqual([8080, 9090]);
  });

  it('routes exactly <appSubUrl>/footfall/v1/metrics on Grafana\'s host to the collector, and nothing else', () => {
    for (const [appSubUrl, path] of [['/grafana', '/grafana/footfall/v1/metrics'], ['/grafana/', '/grafana/footfall/v1/metrics'], ['', '/footfall/v1/metrics']] as const) {
      const ingress = one(render({ ingress: { appSubUrl } }), 'Ingress');
      expect(ingress.spec.rules).toHaveLength(1);
      const [rule] = ingress.spec.rules;
      expect(rule.host).toBe('grafana.example.com');
      // The http port: the collector's ingest listener, which answers 404 for /metrics.
      expect(rule.http.paths).toEqual([
        { path, pathType: 'Exact', backend: { service: { name: 'rel-footfall', port: { name: 'http' } } } },
      ]);
    }
    // The collector serves /v1/metrics: the public path must be rewritten to it.
    expect(one(render(), 'Ingress').metadata.annotations['nginx.ingress.kubernetes.io/rewrite-target']).toBe('/v1/metrics');
  });

  it("scrapes /metrics on the Service's metrics port (not the Ingress's) through a ServiceMonitor that selects the Service", () => {
    const docs = render({ serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } } });
    const monitor = one(docs, 'ServiceMonitor');
    const service = one(docs, 'Service');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
    const ingressPort = one(docs, 'Ingress').spec.rules[0].http.paths[0].backend.service.port.name;
    expect(ingressPort).not.toBe(monitor.spec.endpoints[0].port);
    const metricsPort = service.spec.ports.find((p: { name: string }) => p.name === 'metrics');
    const container = one(docs, 'Deployment').spec.template.spec.containers[0];
    expect(container.ports.find((p: { name: string }) => p.name === metricsPort.targetPort).containerPort).toBe(loadRenderedConfig(docs).server.metricsListen?.port);
  });

  it('documents and uses every top-level value', () => {
    const text = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
    const templates = readTemplates();
    for (const key of Object.keys(parseYaml(text) as object)) {
      expect(templates, `values.${key} is never used`).toMatch(new RegExp(`\\.Values\\.${key}\\b`));
    }
    // The values a user must or may need to set come with a comment saying what they are.
    const lines = text.split('\n');
    for (const key of ['replicaCount', 'grafana', 'auth', 'config', 'secret', 'ingress', 'serviceMonitor', 'state']) {
      const at = lines.findIndex((l) => l.startsWith(`${key}:`));
      expect(lines[at - 1], `values.yaml: ${key} has no comment above it`).toMatch(/^#/);
    }
    for (const key of ['url', 'mode', 'existingSecret', 'hashSecret', 'host', 'appSubUrl', 'annotations']) {
      const at = lines.findIndex((l) => l.trim().startsWith(`${key}:`));
      expect(lines[at - 1]?.trim(), `values.yaml: ${key} has no comment above it`).toMatch(/^#/);
    }
  });
});

function readTemplates(): string {
  return ['_helpers.tpl', 'configmap.yaml', 'deployment.yaml', 'ingress.yaml', 'pdb.yaml', 'secret.yaml', 'service.yaml', 'servicemonitor.yaml']
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
  const stages: { from: string; name: string; body: typeof instructions }[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      stages.push({ from: m[1]!, name: m[2] ?? '', body: [] });
    } else stages.at(-1)?.body.push(ins);
  }
  const final = stages.at(-1)!;
  const last = (op: string) => final.body.filter((i) => i.op === op).at(-1)?.args ?? '';

  it('builds in named stages and runs on node:22-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.name, stage.from).toMatch(/^[a-z][\w-]*$/);
    expect(final.from).toMatch(/^node:22(-bookworm)?-slim(@sha256:[0-9a-f]{64})?$/);
    expect(stages.find((s) => s.body.some((i) => /npx tsc -b|npm run build/.test(i.args)))).toBeDefined();
  });

  it('runs as a non-root user, listening on 0.0.0.0:4318, with a healthcheck on /healthz', () => {
    expect(last('USER')).toMatch(/^(node|[1-9]\d*)(:\S+)?$/);
    expect(final.body.map((i) => i.op)).toContain('HEALTHCHECK');
    expect(last('HEALTHCHECK')).toContain('node');
    expect(readFileSync(join(repo, 'deploy/docker/healthcheck.mjs'), 'utf8')).toContain('/healthz');
    expect(last('EXPOSE')).toBe('4318');
    expect(final.body.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ')).toMatch(/FOOTFALL_LISTEN=0\.0\.0\.0:4318/);
  });

  it('serves /metrics on a second port it does not EXPOSE, so publishing the ingest port (or -P) leaves /metrics private', () => {
    expect(final.body.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ')).toMatch(/FOOTFALL_METRICS_LISTEN=0\.0\.0\.0:9464\b/);
    expect(final.body.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/))).toEqual(['4318']);
    // The README's docker run publishes the ingest port alone.
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const run = /docker run [^\n]*(?:\\\n[^\n]*)*/.exec(readme)?.[0] ?? '';
    expect(run.match(/-p\s+\S+/g)).toEqual(['-p 4318:4318']);
    expect(last('ENTRYPOINT') + last('CMD')).toContain('packages/collector/dist/main.js');
  });

  it('keeps dev dependencies and build tools out of the final stage', () => {
    for (const ins of final.body.filter((i) => i.op === 'RUN')) expect(ins.args).not.toMatch(/npm (install|i|ci)\b/);
    const deps = stages.find((s) => final.body.some((i) => i.op === 'COPY' && i.args.includes(`--from=${s.name} /app `)));
    expect(deps?.body.find((i) => i.op === 'RUN')?.args).toMatch(/npm ci --omit=dev/);
    // The state directory is the only thing the process may write.
    expect(final.body.some((i) => i.op === 'VOLUME' && i.args.includes('/var/lib/footfall'))).toBe(true);
    expect(final.body.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ')).toContain('FOOTFALL_STATE_FILE=/var/lib/footfall/state.json');
  });

  it('sends only the sources it needs as build context', () => {
    const ignore = readFileSync(join(repo, 'deploy/docker/Dockerfile.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const pattern of ['**/node_modules', '**/dist', '**/test-results', '.git']) expect(ignore).toContain(pattern);
    expect(ignore[ignore.findIndex((l) => l !== '' && !l.startsWith('#'))]).toBe('*');
    // Every file a COPY from the context names is allowed back in.
    for (const ins of stages.flatMap((s) => s.body).filter((i) => i.op === 'COPY' && !i.args.includes('--from'))) {
      const sources = ins.args.split(/\s+/).slice(0, -1);
      for (const source of sources.map((s) => s.replace(/\/$/, ''))) {
        const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
        expect(allowed.some((a) => a === source || a.startsWith(`${source}/`)), `COPY ${source} is excluded from the context`).toBe(true);
      }
    }
  });
});
