import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_LEGACY_LABELS, LEGACY_LABELS } from '../aggregate/catalog.js';
import { PERSONAL_KEYS } from '../privacy/index.js';

const LISTEN = /^(?:\[(?<v6>[0-9a-fA-F:.]+)\]|(?<host>[^:\s[\]]+)):(?<port>\d{1,5})$/;

/** `host:port` or `[v6]:port`. */
export const listenAddress = z.string().transform((value, ctx) => {
  const match = LISTEN.exec(value.trim());
  const port = Number(match?.groups?.port);
  if (!match || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected host:port or [ipv6]:port, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return { host: (match.groups!.v6 ?? match.groups!.host)!, port };
});

const positiveInt = z.number().int().positive();

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** A duration: a number of seconds, or a string such as `90s`, `12h`, `35d`, `5w`; becomes milliseconds. */
export const duration = z.union([z.number().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') {
    return value * 1000;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(value);
  const ms = match ? Number(match[1]) * DURATION_UNITS[match[2]!]! * 1000 : NaN;
  if (!(ms > 0)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration such as 90s, 12h, 35d or 5w, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return ms;
});

/** Loopback, link-local and private/unique-local ranges: where a proxy in front of the collector usually sits. */
const PRIVATE_NETWORKS = [
  '127.0.0.0/8',
  '::1',
  '169.254.0.0/16',
  'fe80::/10',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
] as const;

/** Loopback listen addresses: the only place `auth.mode: none` may run without being forced. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

const httpUrl = z.string().refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
  message: 'expected an http:// or https:// URL',
});

/** An origin (`https://grafana.example.com`), as browsers send it in the `Origin` header. */
const origin = httpUrl.transform((value) => new URL(value).origin);

/** An IPv4/IPv6 address or CIDR block, e.g. 10.0.0.0/8 or ::1. */
const addressOrCidr = z.string().refine(
  (value) => {
    const [address, prefix, ...rest] = value.split('/');
    if (rest.length > 0 || isIP(address ?? '') === 0) {
      return false;
    }
    if (prefix === undefined) {
      return true;
    }
    const bits = Number(prefix);
    return /^\d{1,3}$/.test(prefix) && bits <= (isIP(address!) === 4 ? 32 : 128);
  },
  { message: 'expected an IP address or CIDR block (10.0.0.0/8, ::1)' }
);

/** TLS towards a server the collector calls (Grafana, the forward upstream). */
const clientTls = z
  .object({
    /** PEM file of the CA that signed the server's certificate, added to the system's. */
    caFile: z.string().min(1).optional(),
    /** For testing only: accept any certificate. */
    insecureSkipVerify: z.boolean().default(false),
  })
  .strict()
  .prefault({});

/** Routes the collector serves itself; a /write path may not take one. */
const OWN_PATHS = ['/v1/metrics', '/metrics', '/healthz', '/readyz'];

/**
 * The old macropower-analytics-panel's `POST /write` (docs/macropower-write.md): the paths it answers
 * on, and the sessions it keeps to work out the old server's durations.
 */
const legacyWrite = z
  .object({
    /** Where the old panels post (their `server` option's path); [] turns /write off. */
    paths: z
      .array(
        z
          .string()
          .regex(
            /^\/[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/,
            'expected a path such as /write or /analytics-plugin/write'
          )
          .refine((p) => !OWN_PATHS.includes(p), { message: `may not be one of ${OWN_PATHS.join(', ')}` })
      )
      .refine((p) => new Set(p).size === p.length, { message: 'each path at most once' })
      .default(['/write']),
    /** The largest gap between two events credited, like the old --session-timeout; 0: 1.25 × the payload's heartbeat interval. */
    sessionTimeout: z.union([z.literal(0), duration]).default(0),
    /** Sessions remembered (the old --max-cache-size); past it the least recently seen is forgotten. */
    maxSessions: positiveInt.max(10_000_000).default(100_000),
    /** A session without a payload for this long is forgotten. */
    sessionIdleExpiry: duration.prefault('24h'),
    /** Event times kept per session; older ones are summed up and an event that late no longer moves the duration. */
    maxEventsPerSession: positiveInt.min(4).max(10_000).default(128),
    variables: z
      .object({
        /** Variable names recorded; [] records every one the rules let through. */
        allowList: z.array(z.string().min(1)).default([]),
        /** Record constants and text boxes too (configuration, or free text: off, as in the browser). */
        recordText: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

const AUTH_MODES = ['grafana-session', 'proxy-header', 'bearer', 'none'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

const authSchema = z
  .object({
    /**
     * Unset: grafana-session when auth.grafana.url is set; none on a loopback listen address without it
     * (local development); anything else is a configuration error.
     */
    mode: z.enum(AUTH_MODES).optional(),
    grafana: z
      .object({
        /** Grafana as the collector reaches it, with its sub-path: http://grafana:3000/grafana. */
        url: httpUrl.optional(),
        /** Grafana's [auth] login_cookie_name. */
        cookieName: z
          .string()
          .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'expected a cookie name')
          .default('grafana_session'),
        timeoutMs: positiveInt.min(100).max(10_000).default(2000),
        /** How long a verified session is trusted without asking again; ≤ 60 s bounds how long a logout takes to bite. */
        cacheTtlSeconds: positiveInt.max(60).default(60),
        /** How long a refused cookie is remembered, so garbage cannot turn into one Grafana call each. */
        negativeCacheTtlSeconds: positiveInt.max(300).default(10),
        /** How long a verified session is remembered for the token-rotation case. */
        rotationGraceSeconds: positiveInt.max(7 * 24 * 3600).default(3600),
        maxCachedSessions: positiveInt.max(1_000_000).default(10_000),
        /** Calls to Grafana at once; past it requests get 503 + Retry-After instead of piling onto Grafana. */
        maxConcurrentCalls: positiveInt.max(1024).default(32),
        /**
         * A token due for rotation (401 session.token.rotate) whose cookie was not verified here before. The
         * answer proves the token exists and is not revoked, but carries no identity.
         */
        unverifiedRotation: z.enum(['accept', 'reject']).default('accept'),
        /** Grafana down, slow or failing: reject (503 + Retry-After, the browser retries) or accept unverified. */
        whenUnavailable: z.enum(['reject', 'accept']).default('reject'),
        /** Service-account logins (sa-…). */
        serviceAccounts: z.enum(['reject', 'accept']).default('reject'),
        /** Requests without a session cookie (Grafana with anonymous access). */
        anonymous: z.enum(['reject', 'accept']).default('reject'),
        retryAfterSeconds: positiveInt.max(3600).default(5),
        tls: clientTls,
      })
      .strict()
      .prefault({}),
    proxyHeader: z
      .object({
        /** Addresses of the proxies allowed to assert an identity; everyone else gets 403. */
        trustedProxies: z.array(addressOrCidr).default([]),
        /** The header carrying the login, as Grafana's [auth.proxy] header_name. */
        userHeader: z
          .string()
          .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'expected a header name')
          .default('X-WEBAUTH-USER'),
        /** Refuse requests from a trusted proxy that carry no user (the proxy did not authenticate them). */
        requireUser: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    bearer: z
      .object({
        /** Static tokens for server-side senders; prefer FOOTFALL_BEARER_TOKENS (comma-separated). */
        tokens: z.array(z.string().min(16, 'bearer tokens need at least 16 characters')).default([]),
      })
      .strict()
      .prefault({}),
    none: z
      .object({
        /** none accepts everyone: it refuses to start on a non-loopback address unless this is true. */
        allowNonLoopback: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

const baseShape = z
  .object({
    server: z
      .object({
        /** Loopback by default, like the OTel Collector: exposing it is a deliberate choice. */
        listen: listenAddress.prefault('127.0.0.1:4318'),
        /** Limit on the request body after decompression. */
        maxBodyBytes: positiveInt.max(16 * 1024 * 1024).default(64 * 1024),
        /** Slow clients: time to send the headers, and the whole request (Node's own defaults are 60 s and 5 min). */
        headersTimeoutMs: positiveInt.min(1000).max(10_000).default(10_000),
        requestTimeoutMs: positiveInt.min(1000).max(30_000).default(30_000),
        /** Idle keep-alive connections are closed after this. */
        keepAliveTimeoutMs: positiveInt.min(1000).max(65_000).default(15_000),
        /** On SIGTERM: stop accepting, finish in-flight requests and save state within this. */
        shutdownTimeoutMs: positiveInt.min(1000).max(30_000).default(10_000),
        /**
         * Origins (Grafana's root URL) whose pages may post with the user's cookies. A page on the
         * collector's own origin (scheme and host) is always allowed; any other Origin gets 403 where
         * credentials are checked.
         */
        allowedOrigins: z.array(origin).default([]),
        /**
         * A body that stops arriving for this long is answered 408 and its connection closed, freeing its
         * admission slot long before requestTimeoutMs (a stalled upload must not hold one for 30 s).
         */
        bodyIdleTimeoutMs: positiveInt.min(500).max(30_000).default(5000),
        /**
         * Peers whose X-Forwarded-For is believed when working out a client's address (for the
         * per-address budget): the reverse proxy or ingress controller in front of the collector. The
         * default, like express's "loopback, linklocal, uniquelocal" presets, covers a proxy on this
         * machine and one on a private network (a Kubernetes ingress controller on the pod network).
         */
        trustedProxies: z.array(addressOrCidr).default([...PRIVATE_NETWORKS]),
        /**
         * host:port of a second listener serving /metrics (and /healthz, /readyz); the main listener then
         * answers 404 for /metrics. Unset: /metrics is served on server.listen, as in the quick start.
         */
        metricsListen: listenAddress.optional(),
      })
      .strict()
      .superRefine((server, ctx) => {
        const metrics = server.metricsListen;
        const wildcard = (host: string) => host === '0.0.0.0' || host === '::';
        if (
          metrics !== undefined &&
          metrics.port !== 0 &&
          metrics.port === server.listen.port &&
          (metrics.host === server.listen.host || wildcard(metrics.host) || wildcard(server.listen.host))
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['metricsListen'],
            message: 'needs a port of its own: server.listen already uses it',
          });
        }
      })
      .prefault({}),
    privacy: z
      .object({
        mode: z.enum(['deny', 'allow']).default('deny'),
        deny: z.array(z.string().min(1)).default([...PERSONAL_KEYS]),
        allow: z.array(z.string().min(1)).default([]),
        hash: z
          .object({
            enabled: z.boolean().default(false),
            secret: z.string().optional(),
            from: z.array(z.string().min(1)).min(1).default(['user.login', 'user.id', 'user.email']),
          })
          .strict()
          .prefault({}),
        redactEmailValues: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        maxPointsPerRequest: positiveInt.default(1000),
        maxAttributesPerPoint: positiveInt.max(128).default(32),
        maxKeyLength: positiveInt.max(1024).default(128),
        maxValueLength: positiveInt.max(4096).default(256),
        /**
         * Distinct series per metric (and per derived series); past it new label sets fold into the
         * metric's otel_metric_overflow series. Fits 5,000 dashboards with every role and engagement state.
         */
        maxSeriesPerMetric: positiveInt.max(1_000_000).default(50_000),
        /** A series not updated for this long leaves /metrics and the state file and frees its place. */
        seriesIdleExpiry: duration.prefault('35d'),
        /**
         * New series one signed-in user (or one session, or one address, as the auth mode knows them) may
         * create per hour; past it their points that would make more are refused (partial success).
         * Bearer and none senders have no such budget, only the caps.
         */
        newSeriesPerUserPerHour: positiveInt.max(10_000_000).default(5000),
        /** Bearer senders (another collector forwarding, scripts) aggregate many browsers: their increment bounds are multiplied by this. */
        bearerIncrementFactor: positiveInt.max(1_000_000_000).default(10_000),
      })
      .strict()
      .prefault({}),
    legacy: z
      .object({
        /**
         * The labels the old server's series (grafana_analytics_sessions_total,
         * grafana_analytics_sessions_duration_seconds_total) fill, among the names they had. Personal ones
         * stay empty unless the privacy policy lets them through.
         */
        labels: z
          .array(z.enum(LEGACY_LABELS))
          .refine((l) => new Set(l).size === l.length, { message: 'each label at most once' })
          .default([...DEFAULT_LEGACY_LABELS] as Array<(typeof LEGACY_LABELS)[number]>),
        write: legacyWrite,
      })
      .strict()
      .prefault({}),
    inventory: z
      .object({
        /** Grafana as the collector reaches it, with its sub-path; unset: auth.grafana.url. */
        grafanaUrl: httpUrl.optional(),
        /**
         * A service-account token (Viewer is enough) of the org whose dashboards to list; prefer
         * FOOTFALL_INVENTORY_TOKEN. Unset, with no orgs: no inventory.
         */
        token: z.string().min(1).optional(),
        /**
         * One entry per further org: a service account, and so its token, belongs to one org. Tokens
         * also from FOOTFALL_INVENTORY_TOKENS (comma-separated), each against grafanaUrl.
         */
        orgs: z.array(z.object({ token: z.string().min(1), grafanaUrl: httpUrl.optional() }).strict()).default([]),
        /** Listed again this often. */
        intervalSeconds: positiveInt.min(10).max(86_400).default(300),
        /** The soonest a listing follows the one before, when a uid it does not know asks for one. */
        minIntervalSeconds: positiveInt.max(3600).default(15),
        /** Per page of the search. */
        timeoutMs: positiveInt.min(100).max(120_000).default(10_000),
        /** Hits per page: Grafana answers at most 5000. */
        pageSize: positiveInt.max(5000).default(5000),
        /** A listing past this many dashboards fails (and the last one stays) rather than grow without bound. */
        maxDashboards: positiveInt.max(1_000_000).default(100_000),
        /** Unlisted uids waiting for a listing at once; past it, a new unlisted uid is refused at once. */
        maxPending: positiveInt.max(1_000_000).default(10_000),
        /** Of those, how many one signed-in user (or session) may have waiting. */
        maxPendingPerSender: positiveInt.max(1_000_000).default(100),
        tls: clientTls,
      })
      .strict()
      .prefault({}),
    auth: authSchema,
    admission: z
      .object({
        /** Requests per second admitted (token bucket); past it, 429 + Retry-After before the body is read. */
        maxRequestsPerSecond: positiveInt.max(1_000_000).default(1000),
        /** Requests admitted at once above the rate, e.g. after a Grafana restart reloads every tab. */
        burst: positiveInt.max(1_000_000).default(1000),
        /** Requests being read, authenticated or ingested at once; past it, 503 + Retry-After. */
        maxConcurrentRequests: positiveInt.max(100_000).default(256),
        /** Shed load with 503 while the JS heap is above this share of its limit (like the OTel Collector's memory_limiter). */
        maxHeapFraction: z.number().gt(0).max(1).default(0.8),
        retryAfterSeconds: positiveInt.max(3600).default(1),
        /**
         * The small budget of each client address (an IPv6 /64 counts as one), drawn on instead of the
         * main one by every request whose sender is not yet known to be allowed: no or a refused
         * credential, an untrusted proxy, or a session cookie Grafana still has to check. Past it, 429
         * before any Grafana call, so a flood of such requests costs signed-in users nothing.
         */
        perAddress: z
          .object({
            maxRequestsPerSecond: positiveInt.max(100_000).default(5),
            burst: positiveInt.max(100_000).default(20),
          })
          .strict()
          .prefault({}),
        /** Requests of one sender (AuthAllowed.subject) in flight at once; past it, 429 + Retry-After before the body is read. */
        maxConcurrentRequestsPerSender: positiveInt.max(100_000).default(16),
      })
      .strict()
      .prefault({}),
    state: z
      .object({
        /** Where counters are saved so a restart continues them; none: a restart starts from zero. */
        file: z.string().min(1).optional(),
        /** Saved this often, and on shutdown. */
        intervalSeconds: positiveInt.min(1).max(3600).default(60),
      })
      .strict()
      .prefault({}),
    forward: z
      .object({
        /** The upstream's OTLP/HTTP metrics URL (an OTel Collector: http://otel-gateway:4318/v1/metrics); unset: no forwarding. */
        endpoint: httpUrl.optional(),
        /** Extra request headers (e.g. X-Scope-OrgID for Mimir). */
        headers: z
          .record(z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'expected a header name'), z.string())
          .default({}),
        /** Sent as Authorization: Bearer; prefer FOOTFALL_FORWARD_TOKEN. */
        bearerToken: z.string().min(1).optional(),
        compression: z.enum(['gzip', 'none']).default('gzip'),
        /** cumulative for a gateway writing to Prometheus/Mimir; delta for an upstream that sums, such as another footfall collector. */
        temporality: z.enum(['cumulative', 'delta']).default('cumulative'),
        intervalSeconds: positiveInt.max(3600).default(60),
        timeoutSeconds: positiveInt.max(60).default(10),
        /**
         * Points per request; a collection is split to fit. The default is a footfall upstream's
         * limits.maxPointsPerRequest (it refuses the points past it); an OTel Collector has no such limit.
         */
        maxPointsPerRequest: positiveInt.max(1_000_000).default(1000),
        /**
         * Protobuf bytes per request before compression (upstreams limit the body after decompressing it).
         * The default is a footfall upstream's server.maxBodyBytes; an OTel Collector's receiver takes 20 MiB.
         */
        maxBytesPerRequest: positiveInt
          .min(4096)
          .max(64 * 1024 * 1024)
          .default(64 * 1024),
        /**
         * Delta only: points of exports that failed (the upstream down past the retries) kept and sent
         * first at the next interval; past it the oldest are dropped and counted. 0: none are kept.
         */
        queuePoints: z.number().int().nonnegative().max(10_000_000).default(100_000),
        /**
         * The forwarded resource's service.instance.id, so replicas write distinct series upstream: the pod
         * name (FOOTFALL_INSTANCE_ID, which the Helm chart sets from it). Unset: an id made once and kept in
         * state.file (a new one each start without a state file).
         */
        instanceId: z.string().min(1).max(128).optional(),
        tls: clientTls,
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const configSchema = baseShape
  .superRefine((config, ctx) => {
    checkAuth(config, ctx);
    const hash = config.privacy.hash;
    if (hash.enabled && (hash.secret === undefined || hash.secret.length < 16)) {
      ctx.addIssue({
        code: 'custom',
        path: ['privacy', 'hash', 'secret'],
        message: 'a secret of at least 16 characters is required when privacy.hash.enabled is true',
      });
    }
    if (config.forward.endpoint && config.forward.temporality === 'delta' && config.state.file) {
      ctx.addIssue({
        code: 'custom',
        path: ['forward', 'temporality'],
        message:
          'delta forwarding would send the counts restored from state.file a second time: use cumulative with a state file',
      });
    }
    const inventory = config.inventory;
    const needsBase = inventory.token !== undefined || inventory.orgs.some((o) => !o.grafanaUrl);
    if (needsBase && !inventory.grafanaUrl && !config.auth.grafana.url) {
      ctx.addIssue({
        code: 'custom',
        path: ['inventory', 'grafanaUrl'],
        message: "the inventory needs Grafana's URL: inventory.grafanaUrl or auth.grafana.url",
      });
    }
    if (config.privacy.mode === 'allow' && config.privacy.allow.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['privacy', 'allow'],
        message: 'allow mode needs at least one key (an empty allow-list would drop every attribute)',
      });
    }
  })
  .transform((config) => ({ ...config, auth: { ...config.auth, mode: resolveAuthMode(config) } }));

/** The auth mode in force: the configured one, else grafana-session with a Grafana URL, else none (loopback only). */
function resolveAuthMode(config: ParsedConfig): AuthMode {
  return config.auth.mode ?? (config.auth.grafana.url ? 'grafana-session' : 'none');
}

type ParsedConfig = z.output<typeof baseShape>;

function checkAuth(config: ParsedConfig, ctx: z.RefinementCtx): void {
  const { auth } = config;
  const loopback = isLoopbackHost(config.server.listen.host);
  const mode = auth.mode ?? (auth.grafana.url ? 'grafana-session' : loopback ? 'none' : undefined);
  const issue = (path: Array<string | number>, message: string) => ctx.addIssue({ code: 'custom', path, message });
  switch (mode) {
    case undefined:
      return issue(
        ['auth', 'mode'],
        `the collector listens on ${config.server.listen.host}, beyond loopback: set auth.grafana.url (Grafana-session auth) or choose another auth.mode (none only together with auth.none.allowNonLoopback: true)`
      );
    case 'grafana-session':
      if (!auth.grafana.url) {
        issue(['auth', 'grafana', 'url'], "grafana-session auth needs Grafana's URL (with its sub-path)");
      }
      return;
    case 'proxy-header':
      if (auth.proxyHeader.trustedProxies.length === 0) {
        issue(
          ['auth', 'proxyHeader', 'trustedProxies'],
          'proxy-header auth needs the addresses of the proxies to trust'
        );
      }
      return;
    case 'bearer':
      if (auth.bearer.tokens.length === 0) {
        issue(['auth', 'bearer', 'tokens'], 'bearer auth needs at least one token (FOOTFALL_BEARER_TOKENS)');
      }
      return;
    case 'none':
      if (!loopback && !auth.none.allowNonLoopback) {
        issue(
          ['auth', 'mode'],
          `none accepts every request: it only runs on a loopback address, not ${config.server.listen.host}, unless auth.none.allowNonLoopback is true`
        );
      }
  }
}

/** What a user writes (YAML file, env, flags). */
export type CollectorConfigInput = z.input<typeof configSchema>;
/** The validated configuration with every default filled in. */
export type CollectorConfig = z.output<typeof configSchema>;
