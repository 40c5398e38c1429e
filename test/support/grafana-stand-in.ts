/**
 * A stand-in for the one Grafana endpoint the collector calls, `GET <sub-path>/api/user`, for tests
 * only: Grafana has no binary in the registries these machines reach. Status codes and JSON bodies
 * follow Grafana's (shared/reference/grafana-platform.md §3.2): 200 with a user profile, 401
 * `auth.unauthorized`, 401 `session.token.rotate`, 401 "Token revoked", 404 for a deleted user, 500
 * when Grafana fails. It can also be slow or answer like a proxy whose Grafana is down.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback-server.ts';

export interface StandInUser {
  readonly id: number;
  readonly login: string;
  readonly name: string;
  readonly email: string;
  readonly orgId: number;
}

/** What a session token currently is to Grafana. */
export type TokenState = { readonly user: StandInUser } | 'rotate' | 'revoked' | 'deleted';

/** `up`: answer per token; `error`: 500 from Grafana; `bad-gateway`: 502 from a proxy in front of it. */
export type StandInMode = 'up' | 'error' | 'bad-gateway';

export interface GrafanaStandIn {
  /** Base URL including the sub-path, as the collector is configured with it. */
  readonly url: string;
  readonly tokens: Map<string, TokenState>;
  /** `/api/user` calls per token ('' for calls without the session cookie). */
  readonly calls: Map<string, number>;
  /** The most `/api/user` requests it was answering at once since the last resetCounts(). */
  readonly maxConcurrent: number;
  /** Clears calls and maxConcurrent. */
  resetCounts(): void;
  setMode(mode: StandInMode): void;
  /** Delay before each answer. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

const COOKIE_NAME = 'grafana_session';

function sessionToken(req: IncomingMessage): string {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE_NAME) {
      return rest.join('=');
    }
  }
  return '';
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function profile(user: StandInUser): Record<string, unknown> {
  return {
    id: user.id,
    uid: `u${user.id}`,
    email: user.email,
    name: user.name,
    login: user.login,
    theme: '',
    orgId: user.orgId,
    isGrafanaAdmin: false,
    isDisabled: false,
    isExternal: false,
    isExternallySynced: false,
    authLabels: [],
    updatedAt: '2026-11-01T10:00:00Z',
    createdAt: '2026-01-01T10:00:00Z',
    avatarUrl: '/grafana/avatar/0',
  };
}

export async function startGrafanaStandIn(subPath = '/grafana'): Promise<GrafanaStandIn> {
  const tokens = new Map<string, TokenState>();
  const calls = new Map<string, number>();
  let mode: StandInMode = 'up';
  let delay = 0;
  let concurrent = 0;
  let maxConcurrent = 0;

  const server = createServer((req, res) => {
    const answer = (): void => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== `${subPath}/api/user`) {
        return json(res, 404, { message: 'Not found' });
      }
      const token = sessionToken(req);
      calls.set(token, (calls.get(token) ?? 0) + 1);
      if (mode === 'bad-gateway') {
        res.writeHead(502, { 'Content-Type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
        return;
      }
      if (mode === 'error') {
        return json(res, 500, { message: 'Failed to get user' });
      }
      const state = tokens.get(token);
      if (state === undefined) {
        return json(res, 401, {
          message: 'Unauthorized',
          messageId: 'auth.unauthorized',
          statusCode: 401,
          traceID: '',
        });
      }
      if (state === 'rotate') {
        return json(res, 401, {
          message: 'Unauthorized',
          messageId: 'session.token.rotate',
          statusCode: 401,
          traceID: '',
        });
      }
      if (state === 'revoked') {
        return json(res, 401, {
          message: 'Token revoked',
          error: { id: 'ERR_TOKEN_REVOKED', maxConcurrentSessions: 0 },
        });
      }
      if (state === 'deleted') {
        return json(res, 404, { message: 'user not found' });
      }
      return json(res, 200, profile(state.user));
    };
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    res.once('close', () => concurrent--);
    if (delay > 0) {
      setTimeout(answer, delay);
    } else {
      answer();
    }
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}${subPath}`,
    tokens,
    calls,
    get maxConcurrent() {
      return maxConcurrent;
    },
    resetCounts() {
      calls.clear();
      maxConcurrent = 0;
    },
    setMode: (m) => {
      mode = m;
    },
    setDelay: (ms) => {
      delay = ms;
    },
    close,
  };
}
