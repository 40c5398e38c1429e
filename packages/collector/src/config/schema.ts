import { z } from 'zod';
import { PERSONAL_KEYS } from '../privacy/index.js';

const LISTEN = /^(?:\[(?<v6>[0-9a-fA-F:.]+)\]|(?<host>[^:\s[\]]+)):(?<port>\d{1,5})$/;

/** `host:port` or `[v6]:port`. */
export const listenAddress = z
  .string()
  .transform((value, ctx) => {
    const match = LISTEN.exec(value.trim());
    const port = Number(match?.groups?.port);
    if (!match || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `expected host:port or [ipv6]:port, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return { host: (match.groups!.v6 ?? match.groups!.host)!, port };
  });

const positiveInt = z.number().int().positive();

export const configSchema = z
  .object({
    server: z
      .object({
        /** Loopback by default, like the OTel Collector: exposing it is a deliberate choice. */
        listen: listenAddress.prefault('127.0.0.1:4318'),
        /** Limit on the request body after decompression. */
        maxBodyBytes: positiveInt.max(16 * 1024 * 1024).default(64 * 1024),
      })
      .strict()
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
        maxSeriesPerMetric: positiveInt.max(1_000_000).default(2000),
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
  .strict()
  .superRefine((config, ctx) => {
    const hash = config.privacy.hash;
    if (hash.enabled && (hash.secret === undefined || hash.secret.length < 16)) {
      ctx.addIssue({
        code: 'custom',
        path: ['privacy', 'hash', 'secret'],
        message: 'a secret of at least 16 characters is required when privacy.hash.enabled is true',
      });
    }
    if (config.privacy.mode === 'allow' && config.privacy.allow.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['privacy', 'allow'],
        message: 'allow mode needs at least one key (an empty allow-list would drop every attribute)',
      });
    }
  });

/** What a user writes (YAML file, env, flags). */
export type CollectorConfigInput = z.input<typeof configSchema>;
/** The validated configuration with every default filled in. */
export type CollectorConfig = z.output<typeof configSchema>;
