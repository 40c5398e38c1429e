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

  it('layers file < environment < flags', () => {
    const path = file('server:\n  listen: 0.0.0.0:9000\n  maxBodyBytes: 1024\nauth:\n  grafana:\n    url: http://grafana:3000/grafana\nlog:\n  level: warn\n');
    expect(loadConfig({ file: path, env: {} }).server).toMatchObject({ listen: { host: '0.0.0.0', port: 9000 }, maxBodyBytes: 1024 });
    const fromEnv = loadConfig({ file: path, env: { FOOTFALL_LISTEN: '127.0.0.1:9001', FOOTFALL_LOG_LEVEL: 'debug' } });
    expect(fromEnv.server.listen.port).toBe(9001);
    expect(fromEnv.log.level).toBe('debug');
    const fromFlags = loadConfig({ file: path, env: { FOOTFALL_LISTEN: '127.0.0.1:9001' }, flags: { listen: '[::1]:9002' } });
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
    ['not YAML', 'server: [\n', /not valid YAML/],
    ['a list at the top', '- a\n- b\n', /mapping at the top level/],
  ])('fails fast on %s, naming the key', (_, text, message) => {
    expect(() => loadConfig({ file: file(text), env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ file: file(text), env: {} })).toThrow(message);
  });

  it('says which file it could not read', () => {
    expect(() => loadConfig({ file: 'does-not-exist.yaml', env: {} })).toThrow(/cannot read config file does-not-exist\.yaml/);
  });
});
