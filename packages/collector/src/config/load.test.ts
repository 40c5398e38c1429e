import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.ts';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'footfall-config-')), 'footfall.yaml');
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  it('needs nothing: loopback 4318, 64 KiB bodies, personal keys denied', () => {
    const config = loadConfig({ env: {} });
    expect(config.server.listen).toEqual({ host: '127.0.0.1', port: 4318 });
    expect(config.server.maxBodyBytes).toBe(65536);
    expect(config.privacy.mode).toBe('deny');
    expect(config.privacy.deny).toEqual(['user.login', 'user.name', 'user.email', 'user.id']);
    expect(config.privacy.hash.enabled).toBe(false);
  });

  it('answers the old panel on /write by default; legacy.write.paths moves or turns it off', () => {
    const write = loadConfig({ env: {} }).legacy.write;
    expect(write).toMatchObject({
      paths: ['/write'],
      sessionTimeout: 0,
      maxSessions: 100_000,
      sessionIdleExpiry: 86_400_000,
    });
    expect(
      loadConfig({
        file: file('legacy:\n  write:\n    paths: [/analytics-plugin/write]\n    sessionTimeout: 90s\n'),
        env: {},
      }).legacy.write
    ).toMatchObject({
      paths: ['/analytics-plugin/write'],
      sessionTimeout: 90_000,
    });
    expect(loadConfig({ file: file('legacy:\n  write:\n    paths: []\n'), env: {} }).legacy.write.paths).toEqual([]);
    expect(() => loadConfig({ file: file('legacy:\n  write:\n    paths: [/metrics]\n'), env: {} })).toThrow(
      /legacy\.write\.paths/
    );
    expect(() => loadConfig({ file: file('legacy:\n  write:\n    paths: [/write/:id]\n'), env: {} })).toThrow(
      /expected a path/
    );
  });

  it('forwards in requests a footfall upstream with its defaults takes whole, and keeps failed delta points queued', () => {
    const config = loadConfig({ env: {} });
    expect(config.forward.maxPointsPerRequest).toBe(config.limits.maxPointsPerRequest);
    expect(config.forward.maxBytesPerRequest).toBe(config.server.maxBodyBytes);
    expect(config.forward.queuePoints).toBe(100_000);
    expect(() => loadConfig({ file: file('forward:\n  maxBytesPerRequest: 1000\n'), env: {} })).toThrow(
      /at forward\.maxBytesPerRequest/
    );
    expect(loadConfig({ env: { FOOTFALL_INSTANCE_ID: 'footfall-7d9f8-abcde' } }).forward.instanceId).toBe(
      'footfall-7d9f8-abcde'
    );
  });

  it('layers file < environment < flags', () => {
    const path = file(
      'server:\n  listen: 0.0.0.0:9000\n  maxBodyBytes: 1024\nauth:\n  grafana:\n    url: http://grafana:3000/grafana\nlog:\n  level: warn\n'
    );
    expect(loadConfig({ file: path, env: {} }).server).toMatchObject({
      listen: { host: '0.0.0.0', port: 9000 },
      maxBodyBytes: 1024,
    });
    const fromEnv = loadConfig({ file: path, env: { FOOTFALL_LISTEN: '127.0.0.1:9001', FOOTFALL_LOG_LEVEL: 'debug' } });
    expect(fromEnv.server.listen.port).toBe(9001);
    expect(fromEnv.log.level).toBe('debug');
    const fromFlags = loadConfig({
      file: path,
      env: { FOOTFALL_LISTEN: '127.0.0.1:9001' },
      flags: { listen: '[::1]:9002' },
    });
    expect(fromFlags.server.listen).toEqual({ host: '::1', port: 9002 });
  });

  it('takes the config path from FOOTFALL_CONFIG and the hash secret from the environment', () => {
    const path = file('privacy:\n  hash:\n    enabled: true\n');
    const config = loadConfig({ env: { FOOTFALL_CONFIG: path, FOOTFALL_HASH_SECRET: 's'.repeat(20) } });
    expect(config.privacy.hash).toMatchObject({ enabled: true, secret: 's'.repeat(20) });
  });

  it.each([
    ['an unknown key', 'limits:\n  maxSeries: 5\n', /at limits: .*maxSeries/],
    ['a wrong type', 'limits:\n  maxSeriesPerMetric: lots\n', /at limits\.maxSeriesPerMetric/],
    ['a bad listen address', 'server:\n  listen: localhost\n', /at server\.listen: expected host:port/],
    ['hashing without a secret', 'privacy:\n  hash:\n    enabled: true\n', /at privacy\.hash\.secret/],
    ['an empty allow-list', 'privacy:\n  mode: allow\n', /at privacy\.allow/],
    [
      '/metrics on the ingest port',
      'server:\n  listen: 0.0.0.0:4318\n  metricsListen: 127.0.0.1:4318\n',
      /at server\.metricsListen: needs a port of its own/,
    ],
    ['a trusted proxy that is no address', 'server:\n  trustedProxies: [ingress]\n', /at server\.trustedProxies\.0/],
    ['a per-address budget of 0', 'admission:\n  perAddress:\n    burst: 0\n', /at admission\.perAddress\.burst/],
    ['not YAML', 'server: [\n', /not valid YAML/],
    ['a list at the top', '- a\n- b\n', /mapping at the top level/],
  ])('fails fast on %s, naming the key', (_, text, message) => {
    expect(() => loadConfig({ file: file(text), env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ file: file(text), env: {} })).toThrow(message);
  });

  it('chooses the auth mode: none for a loopback start, grafana-session once Grafana is named', () => {
    expect(loadConfig({ env: {} }).auth.mode).toBe('none');
    expect(loadConfig({ env: { FOOTFALL_GRAFANA_URL: 'http://grafana:3000/grafana' } }).auth).toMatchObject({
      mode: 'grafana-session',
      grafana: {
        url: 'http://grafana:3000/grafana',
        cookieName: 'grafana_session',
        cacheTtlSeconds: 60,
        whenUnavailable: 'reject',
      },
    });
    const bearer = loadConfig({
      env: {
        FOOTFALL_AUTH_MODE: 'bearer',
        FOOTFALL_BEARER_TOKENS: ' a-token-of-16-chars-or-more , another-token-of-16-chars ',
      },
    });
    expect(bearer.auth.bearer.tokens).toEqual(['a-token-of-16-chars-or-more', 'another-token-of-16-chars']);
  });

  it.each([
    [
      'none beyond loopback',
      'server:\n  listen: 0.0.0.0:4318\nauth:\n  mode: none\n',
      /at auth\.mode: none accepts every request: it only runs on a loopback address, not 0\.0\.0\.0/,
    ],
    [
      'no auth beyond loopback',
      'server:\n  listen: 10.0.0.5:4318\n',
      /at auth\.mode: the collector listens on 10\.0\.0\.5, beyond loopback/,
    ],
    [
      'grafana-session without Grafana',
      'auth:\n  mode: grafana-session\n',
      /at auth\.grafana\.url: grafana-session auth needs/,
    ],
    [
      'a cache TTL over 60 s',
      'auth:\n  grafana:\n    url: http://g/\n    cacheTtlSeconds: 300\n',
      /at auth\.grafana\.cacheTtlSeconds/,
    ],
    [
      'proxy-header without proxies',
      'auth:\n  mode: proxy-header\n',
      /at auth\.proxyHeader\.trustedProxies: proxy-header auth needs/,
    ],
    [
      'a bad proxy address',
      'auth:\n  mode: proxy-header\n  proxyHeader:\n    trustedProxies: [10.0.0.0/33]\n',
      /at auth\.proxyHeader\.trustedProxies\.0: expected an IP address or CIDR/,
    ],
    [
      'bearer without tokens',
      'auth:\n  mode: bearer\n',
      /at auth\.bearer\.tokens: bearer auth needs at least one token/,
    ],
    [
      'a short bearer token',
      'auth:\n  mode: bearer\n  bearer:\n    tokens: [short]\n',
      /bearer tokens need at least 16 characters/,
    ],
    [
      'an origin that is not a URL',
      'server:\n  allowedOrigins: [grafana.example.com]\n',
      /at server\.allowedOrigins\.0/,
    ],
    ['a request timeout over 30 s', 'server:\n  requestTimeoutMs: 300000\n', /at server\.requestTimeoutMs/],
    [
      'delta forwarding with a state file',
      'state:\n  file: s.json\nforward:\n  endpoint: http://gw:4318/v1/metrics\n  temporality: delta\n',
      /at forward\.temporality: delta forwarding would send the counts restored/,
    ],
    ['a forward endpoint that is not a URL', 'forward:\n  endpoint: gw:4318\n', /at forward\.endpoint/],
  ])('refuses %s, naming the key', (_, text, message) => {
    expect(() => loadConfig({ file: file(text), env: {} })).toThrow(message);
  });

  it('runs none beyond loopback only when forced, and keeps origins as origins', () => {
    const forced = loadConfig({
      file: file(
        'server:\n  listen: 0.0.0.0:4318\n  allowedOrigins: [https://grafana.example.com/grafana/]\nauth:\n  mode: none\n  none:\n    allowNonLoopback: true\n'
      ),
      env: {},
    });
    expect(forced.auth.mode).toBe('none');
    expect(forced.server.allowedOrigins).toEqual(['https://grafana.example.com']);
  });

  it('trusts proxies on loopback and the private networks by default, budgets unverified senders per address, and serves /metrics on the main listener', () => {
    const config = loadConfig({ env: {} });
    expect(config.server.trustedProxies).toEqual([
      '127.0.0.0/8',
      '::1',
      '169.254.0.0/16',
      'fe80::/10',
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
      'fc00::/7',
    ]);
    expect(config.server.bodyIdleTimeoutMs).toBe(5000);
    expect(config.server.metricsListen).toBeUndefined();
    expect(config.admission.perAddress).toEqual({ maxRequestsPerSecond: 5, burst: 20 });
    expect(config.admission.maxConcurrentRequestsPerSender).toBe(16);
    expect(loadConfig({ env: { FOOTFALL_METRICS_LISTEN: '0.0.0.0:9464' } }).server.metricsListen).toEqual({
      host: '0.0.0.0',
      port: 9464,
    });
  });

  it('says which file it could not read', () => {
    expect(() => loadConfig({ file: 'does-not-exist.yaml', env: {} })).toThrow(
      /cannot read config file does-not-exist\.yaml/
    );
  });
});
