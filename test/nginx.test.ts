/**
 * The nginx recipe, deploy/nginx/footfall.conf, as users run it: Debian's real nginx includes the file
 * unchanged inside a server block; its two upstreams, `grafana` and `footfall_collector`, point at the
 * Grafana stand-in (through a recorder that keeps every auth subrequest) and at the built collector run
 * with deploy/nginx/collector.yaml. The server block adds `proxy_bind 127.0.0.2`, so nginx reaches the
 * collector from its own loopback address and the collector trusts 127.0.0.2 only: this test, talking
 * to the collector from 127.0.0.1, is the "request that bypasses nginx". A second nginx runs the recipe
 * edited, as its header says, for a Grafana served at the root.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { spawnCollector, type CollectorProcess } from './support/collector.ts';
import { scrape, sumOf } from './support/exposition.ts';
import { startGrafanaStandIn, type GrafanaStandIn } from './support/grafana-stand-in.ts';
import { startNginx, type NginxServer } from './support/nginx.ts';
import { sessionsRequest } from './support/otlp.ts';
import { send, toJson, uploadLargeBody, type HttpResult } from './support/requests.ts';

const RECIPE = new URL('../deploy/nginx/footfall.conf', import.meta.url);
const COLLECTOR_CONFIG = new URL('../deploy/nginx/collector.yaml', import.meta.url);
const ROUTE = '/grafana/footfall/v1/metrics';
const SESSIONS = 'grafana_analytics_sessions_total';
/** The address nginx connects to the collector from (proxy_bind); the test itself uses 127.0.0.1. */
const NGINX_ADDRESS = '127.0.0.2';

const ALICE = { id: 42, login: 'alice', name: 'Alice Example', email: 'alice@example.com', orgId: 1 };

/** What reached "Grafana" for one auth subrequest. */
interface RecordedCall {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly bodyBytes: number;
}

interface GrafanaRecorder {
  readonly port: number;
  readonly calls: RecordedCall[];
  /** Drop every connection without an answer, like a Grafana that crashed mid-request. */
  setDropping(dropping: boolean): void;
  close(): Promise<void>;
}

/** A pass-through in front of the stand-in that keeps each request's method, URL, headers and body size. */
async function startRecorder(target: string): Promise<GrafanaRecorder> {
  const calls: RecordedCall[] = [];
  let dropping = false;
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    let bodyBytes = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      chunks.push(chunk);
    });
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes });
      if (dropping) {
        return void req.socket.destroy();
      }
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        }
      );
      forward.on('error', () => req.socket.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    calls,
    setDropping: (value) => {
      dropping = value;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * The recipe for Grafana under another sub-path ('' for Grafana at the root), edited in exactly the
 * places its header lists; any other occurrence left behind would show in the routes.
 */
function recipeFor(subPath: string): string {
  return readFileSync(RECIPE, 'utf8')
    .replaceAll('location = /grafana/footfall/', `location = ${subPath}/footfall/`)
    .replaceAll('location ^~ /grafana/footfall/', `location ^~ ${subPath}/footfall/`)
    .replace('proxy_pass http://grafana/grafana/api/user;', `proxy_pass http://grafana${subPath}/api/user;`);
}

/** The http { } block around the recipe: its two upstreams and a server block including it. */
function httpBlock(
  port: number,
  grafanaPort: number | string,
  collectorPort: number | string,
  recipeFile: string
): string {
  return `
    upstream grafana {
        server 127.0.0.1:${grafanaPort};
        keepalive 8;
    }
    upstream footfall_collector {
        server 127.0.0.1:${collectorPort};
        keepalive 16;
        keepalive_timeout 10s;
    }
    server {
        listen 127.0.0.1:${port};
        server_name grafana.test;
        proxy_bind ${NGINX_ADDRESS};
        include ${recipeFile};
    }`;
}

let grafana: GrafanaStandIn;
let recorder: GrafanaRecorder;
let collector: CollectorProcess;
let nginx: NginxServer;
/** Grafana served at the root (no sub-path), behind the recipe edited for it. */
let rootGrafana: GrafanaStandIn;
let rootNginx: NginxServer;
let configDir: string;

beforeAll(async () => {
  grafana = await startGrafanaStandIn('/grafana');
  recorder = await startRecorder(grafana.url);

  // The recipe's collector configuration, with nginx's address in place of the documented 127.0.0.1.
  const config = parseYaml(readFileSync(COLLECTOR_CONFIG, 'utf8')) as {
    auth: { proxyHeader: { trustedProxies: string[] } };
  };
  expect(config.auth.proxyHeader.trustedProxies).toEqual(['127.0.0.1']);
  config.auth.proxyHeader.trustedProxies = [NGINX_ADDRESS];
  configDir = mkdtempSync(join(tmpdir(), 'footfall-nginx-collector-'));
  writeFileSync(join(configDir, 'collector.yaml'), toYaml(config));
  collector = await spawnCollector(['--config', join(configDir, 'collector.yaml')]);
  const collectorPort = new URL(collector.url).port;

  // The recipe exactly as shipped: Grafana under /grafana, upstreams named grafana and footfall_collector.
  nginx = await startNginx({
    files: { 'footfall.conf': readFileSync(RECIPE, 'utf8') },
    http: (port) => httpBlock(port, recorder.port, collectorPort, 'footfall.conf'),
  });
  rootGrafana = await startGrafanaStandIn('');
  rootNginx = await startNginx({
    files: { 'footfall-root.conf': recipeFor('') },
    http: (port) => httpBlock(port, new URL(rootGrafana.url).port, collectorPort, 'footfall-root.conf'),
  });
});

afterAll(async () => {
  await rootNginx?.stop();
  await rootGrafana?.close();
  await nginx?.stop();
  await collector?.stop();
  await recorder?.close();
  await grafana?.close();
  if (configDir) {
    rmSync(configDir, { recursive: true, force: true });
  }
});

beforeEach(() => {
  grafana.tokens.clear();
  grafana.resetCounts();
  grafana.setMode('up');
  grafana.setDelay(0);
  recorder.setDropping(false);
  recorder.calls.length = 0;
});

/** A browser's export through nginx: JSON, same-origin (Origin is nginx's own), with the given cookies. */
function exportThroughNginx(
  cookie: string | undefined,
  uid: string,
  extra: Record<string, string> = {}
): Promise<HttpResult> {
  return send(`${nginx.url}${ROUTE}`, {
    headers: {
      'content-type': 'application/json',
      origin: nginx.url,
      ...(cookie === undefined ? {} : { cookie }),
      ...extra,
    },
    body: toJson(sessionsRequest([{ uid, value: 1 }])),
  });
}

const browserCookies = (token: string) => `theme=dark; grafana_session=${token}; grafana_session_expiry=1795550000`;

/** Export requests the collector has answered, whatever the outcome. */
async function collectorRequests(): Promise<number> {
  return sumOf((await scrape(collector.url)).samples, 'footfall_collector_requests_total');
}

async function authOutcomes(outcome: string): Promise<number> {
  return sumOf((await scrape(collector.url)).samples, 'footfall_collector_auth_total', {
    mode: 'proxy-header',
    outcome,
  });
}

/** Asserts nginx's refusal: status, JSON google.rpc.Status body, and that the collector never saw the request. */
async function expectRefusedByNginx(result: HttpResult, status: number, code: number, before: number): Promise<void> {
  expect(result.status, result.body.toString('utf8')).toBe(status);
  expect(result.headers['content-type']).toBe('application/json');
  expect(JSON.parse(result.body.toString('utf8'))).toMatchObject({ code, message: expect.any(String) });
  expect(await collectorRequests()).toBe(before);
}

describe('deploy/nginx/footfall.conf in front of the collector', () => {
  test('a signed-in browser: 200, and its points are on the collector’s /metrics', async () => {
    grafana.tokens.set('good', { user: ALICE });
    const before = await authOutcomes('proxy_no_user');
    const result = await exportThroughNginx(browserCookies('good'), 'nginx-ok');
    expect(result.status, result.body.toString('utf8')).toBe(200);
    const { samples } = await scrape(collector.url);
    expect(sumOf(samples, SESSIONS, { dashboard_uid: 'nginx-ok' })).toBe(1);
    // Admitted as "from nginx, signed in, identity unknown": the recipe's documented trade-off.
    expect(sumOf(samples, 'footfall_collector_auth_total', { mode: 'proxy-header', outcome: 'proxy_no_user' })).toBe(
      before + 1
    );
    expect(grafana.calls.get('good')).toBe(1);
  });

  test('the auth subrequest is GET <sub-path>/api/user with the session cookie alone: no body, no Authorization, no identity header', async () => {
    grafana.tokens.set('good', { user: ALICE });
    const result = await exportThroughNginx(browserCookies('good'), 'nginx-subrequest', {
      authorization: 'Bearer glsa_not_for_grafana',
      'x-webauth-user': 'mallory',
      'x-grafana-org-id': '7',
    });
    expect(result.status).toBe(200);
    expect(recorder.calls).toHaveLength(1);
    const call = recorder.calls[0]!;
    expect(call).toMatchObject({ method: 'GET', url: '/grafana/api/user', bodyBytes: 0 });
    expect(call.headers.cookie).toBe('grafana_session=good');
    expect(call.headers['content-length']).toBeUndefined();
    expect(call.headers['transfer-encoding']).toBeUndefined();
    for (const name of ['authorization', 'x-webauth-user', 'x-grafana-org-id', 'origin', 'content-type']) {
      expect(call.headers[name], name).toBeUndefined();
    }
  });

  test("passes the browser's scheme, host and address on as X-Forwarded-Proto/Host/For, which the collector's Origin check and budgets read", async () => {
    // In the export location, where nginx (not a client) sets them: nginx -t has accepted the file above.
    const location = readFileSync(RECIPE, 'utf8')
      .split('location = /grafana/footfall/v1/metrics {')[1]!
      .split('\n}')[0]!;
    const set = (name: string) => new RegExp(`^\\s*proxy_set_header ${name} (\\S+);`, 'm').exec(location)?.[1];
    expect(set('X-Forwarded-Proto')).toBe('$scheme');
    expect(set('X-Forwarded-Host')).toBe('$http_host');
    expect(set('X-Forwarded-For')).toBe('$proxy_add_x_forwarded_for');
    // nginx says the browser used http (this test's nginx has no TLS): an https page on its host is another origin.
    grafana.tokens.set('good', { user: ALICE });
    const before = await collectorRequests();
    const foreign = await exportThroughNginx(browserCookies('good'), 'nginx-scheme', {
      origin: nginx.url.replace('http:', 'https:'),
    });
    expect(foreign.status, foreign.body.toString('utf8')).toBe(403);
    expect(await collectorRequests()).toBe(before + 1);
  });

  test('an X-WEBAUTH-USER sent by the browser never reaches the collector', async () => {
    grafana.tokens.set('good', { user: ALICE });
    const [users, anonymous] = [await authOutcomes('proxy_user'), await authOutcomes('proxy_no_user')];
    const result = await exportThroughNginx(browserCookies('good'), 'nginx-spoof', { 'x-webauth-user': 'mallory' });
    expect(result.status).toBe(200);
    // Had the header arrived, the collector would have counted a proxy_user (and believed "mallory").
    expect(await authOutcomes('proxy_user')).toBe(users);
    expect(await authOutcomes('proxy_no_user')).toBe(anonymous + 1);
  });

  test('no session cookie: 401 from nginx, without asking Grafana; the collector never sees it', async () => {
    const before = await collectorRequests();
    await expectRefusedByNginx(await exportThroughNginx('theme=dark', 'nginx-no-cookie'), 401, 16, before);
    await expectRefusedByNginx(await exportThroughNginx(undefined, 'nginx-no-cookie'), 401, 16, before);
    expect(recorder.calls).toHaveLength(0);
  });

  test.each([
    ['unknown (401 auth.unauthorized)', undefined],
    ['revoked (401 Token revoked)', 'revoked'],
    ['of a deleted user (404 user not found)', 'deleted'],
    // The token exists but is due for rotation (a tab hidden for a while). nginx cannot tell this 401
    // from the others; the panel keeps the points and retries, by then with the rotated cookie.
    ['due for rotation (401 session.token.rotate)', 'rotate'],
  ] as const)('a session %s: 401, the collector never sees it', async (_, state) => {
    if (state !== undefined) {
      grafana.tokens.set('t', state);
    }
    const before = await collectorRequests();
    await expectRefusedByNginx(await exportThroughNginx(browserCookies('t'), 'nginx-refused'), 401, 16, before);
    expect(grafana.calls.get('t')).toBe(1);
  });

  test.each([
    ['answers 500', () => grafana.setMode('error')],
    ['is behind a proxy answering 502', () => grafana.setMode('bad-gateway')],
    ['drops the connection', () => recorder.setDropping(true)],
  ] as const)('Grafana %s: 503 with Retry-After, the collector never sees it', async (_, breakGrafana) => {
    grafana.tokens.set('good', { user: ALICE });
    breakGrafana();
    const before = await collectorRequests();
    const result = await exportThroughNginx(browserCookies('good'), 'nginx-unavailable');
    await expectRefusedByNginx(result, 503, 14, before);
    expect(result.headers['retry-after']).toBe('5');
  });

  test('Grafana slower than the 2 s auth timeout: 503 with Retry-After after about 2 s', async () => {
    grafana.tokens.set('good', { user: ALICE });
    grafana.setDelay(4_000);
    const before = await collectorRequests();
    const result = await exportThroughNginx(browserCookies('good'), 'nginx-slow');
    await expectRefusedByNginx(result, 503, 14, before);
    expect(result.headers['retry-after']).toBe('5');
    expect(result.ms).toBeGreaterThan(1_900);
    expect(result.ms).toBeLessThan(3_500);
  });

  test('a request that bypasses nginx is refused by the collector: 403', async () => {
    const before = await authOutcomes('untrusted_proxy');
    const direct = await send(`${collector.url}/v1/metrics`, {
      headers: { 'content-type': 'application/json', 'x-webauth-user': 'alice' },
      body: toJson(sessionsRequest([{ uid: 'nginx-bypass', value: 1 }])),
    });
    expect(direct.status).toBe(403);
    expect(await authOutcomes('untrusted_proxy')).toBe(before + 1);
    expect(sumOf((await scrape(collector.url)).samples, SESSIONS, { dashboard_uid: 'nginx-bypass' })).toBe(0);
  });

  test('a page on another origin, with the user’s cookie: 403 from the collector’s Origin check', async () => {
    grafana.tokens.set('good', { user: ALICE });
    const result = await exportThroughNginx(browserCookies('good'), 'nginx-foreign', {
      origin: 'https://evil.example',
    });
    expect(result.status, result.body.toString('utf8')).toBe(403);
    expect(JSON.parse(result.body.toString('utf8'))).toMatchObject({
      message: expect.stringContaining('evil.example'),
    });
    expect(sumOf((await scrape(collector.url)).samples, SESSIONS, { dashboard_uid: 'nginx-foreign' })).toBe(0);
  });

  test('a body over 64 KiB: 413 before Grafana or the collector is asked', async () => {
    grafana.tokens.set('good', { user: ALICE });
    const before = await collectorRequests();
    const upload = await uploadLargeBody(
      `${nginx.url}${ROUTE}`,
      { 'content-type': 'application/json', origin: nginx.url, cookie: browserCookies('good') },
      65 * 1024
    );
    expect(upload.status, upload.head).toBe(413);
    expect(recorder.calls).toHaveLength(0);
    expect(await collectorRequests()).toBe(before);
  });

  test('a 60 KB export is passed on from memory, never from a temporary file', async () => {
    grafana.tokens.set('good', { user: ALICE });
    const json = toJson(sessionsRequest([{ uid: 'nginx-large', value: 2 }]));
    // Trailing whitespace is valid JSON: the body is as large as a full keepalive export.
    const body = Buffer.concat([json, Buffer.alloc(60_000 - json.length, 0x20)]);
    const result = await send(`${nginx.url}${ROUTE}`, {
      headers: { 'content-type': 'application/json', origin: nginx.url, cookie: browserCookies('good') },
      body,
    });
    expect(result.status, result.body.toString('utf8')).toBe(200);
    expect(sumOf((await scrape(collector.url)).samples, SESSIONS, { dashboard_uid: 'nginx-large' })).toBe(2);
    // nginx warns with this line each time a request body spills to disk.
    expect(nginx.errorLog()).not.toContain('buffered to a temporary file');
  });

  test.each(['/grafana/footfall/metrics', '/grafana/footfall/healthz', '/grafana/footfall/v1/metrics/'])(
    'nothing else of the collector is reachable: GET %s is 404 without asking Grafana or the collector',
    async (path) => {
      grafana.tokens.set('good', { user: ALICE });
      const before = await collectorRequests();
      const result = await send(`${nginx.url}${path}`, { method: 'GET', headers: { cookie: browserCookies('good') } });
      expect(result.status).toBe(404);
      expect(result.body.toString('utf8')).not.toContain('footfall_collector');
      expect(recorder.calls).toHaveLength(0);
      expect(await collectorRequests()).toBe(before);
    }
  );

  test('the internal auth location cannot be called from outside', async () => {
    grafana.tokens.set('good', { user: ALICE });
    const result = await send(`${nginx.url}/_footfall/grafana-auth`, {
      method: 'GET',
      headers: { cookie: browserCookies('good') },
    });
    // nginx's "internal only" 404 goes through the location's own 404 → 401 mapping (meant for a deleted user).
    expect(result.status).toBe(401);
    expect(recorder.calls).toHaveLength(0);
  });

  test('Grafana at the root: the recipe edited where its header says serves /footfall/v1/metrics the same way', async () => {
    const edited = recipeFor('');
    const directives = edited.split('\n').filter((line) => !line.trimStart().startsWith('#'));
    // No path still starting with the old sub-path (http://grafana/… is the upstream's name).
    expect(directives.filter((line) => /(?:^|[^/])\/grafana\//.test(line))).toEqual([]);
    rootGrafana.tokens.set('root-good', { user: ALICE });
    const post = (path: string, token: string) =>
      send(`${rootNginx.url}${path}`, {
        headers: { 'content-type': 'application/json', origin: rootNginx.url, cookie: browserCookies(token) },
        body: toJson(sessionsRequest([{ uid: 'nginx-root', value: 1 }])),
      });
    expect((await post('/footfall/v1/metrics', 'root-good')).status).toBe(200);
    expect((await post('/footfall/v1/metrics', 'root-unknown')).status).toBe(401);
    expect((await post('/grafana/footfall/v1/metrics', 'root-good')).status).toBe(404);
    expect(sumOf((await scrape(collector.url)).samples, SESSIONS, { dashboard_uid: 'nginx-root' })).toBe(1);
    expect(rootGrafana.calls.get('root-good')).toBe(1);
  });

  // Last: it stops the collector.
  test('the collector down: 503 with Retry-After', async () => {
    grafana.tokens.set('good', { user: ALICE });
    await collector.stop();
    const result = await exportThroughNginx(browserCookies('good'), 'nginx-collector-down');
    expect(result.status, result.body.toString('utf8')).toBe(503);
    expect(result.headers['retry-after']).toBe('5');
    expect(JSON.parse(result.body.toString('utf8'))).toMatchObject({ code: 14 });
  });
});
