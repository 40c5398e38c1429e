import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface OriginSettings {
  /** Exact origins (Grafana's root URL) allowed to post from a browser with the user's credentials. */
  readonly allowedOrigins: readonly string[];
  /**
   * Refuse other origins. On for the modes whose credentials a browser attaches by itself (a session
   * cookie; a proxy's login), where a foreign page could otherwise post in the user's name (CSRF). Off
   * for `none` and `bearer`, where a foreign page gains nothing it could not do with curl.
   */
  readonly enforce: boolean;
}

export type OriginVerdict =
  | {
      readonly allowed: true;
      /** Set for an allowed cross-origin request: the value of Access-Control-Allow-Origin. */ readonly corsOrigin?: string;
    }
  | { readonly allowed: false; readonly origin: string };

/** Preflights may be cached this long; Chromium caps it at 2 h anyway. */
const MAX_AGE_SECONDS = 7200;

export interface OriginPolicy {
  check(req: IncomingMessage): OriginVerdict;
  /** Headers for an allowed cross-origin response; never `*`, since the request carries credentials. */
  corsHeaders(origin: string): Record<string, string>;
  /** Extra headers answering an allowed preflight (the same for every allowed origin). */
  preflightHeaders(): Record<string, string>;
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(',')[0]?.trim().toLowerCase() || undefined;
}

/**
 * The scheme the browser used: the first X-Forwarded-Proto value when a proxy set one, else https on a
 * TLS socket, else http. Like X-Forwarded-Host, a browser cannot set the header on a cross-origin
 * request without a preflight, which it would not pass.
 */
function requestScheme(req: IncomingMessage): string {
  const forwarded = firstValue(req.headers['x-forwarded-proto']);
  if (forwarded !== undefined) {
    return forwarded;
  }
  return (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http';
}

/**
 * The Origin check: a page on the collector's own origin (the panel posts same-origin, under Grafana's
 * sub-path) or on an allow-listed origin may send; any other page is refused where it matters. Requests
 * without Origin come from servers and scripts, not browsers (browsers always send it on a POST), and
 * pass here to meet the authorize stage.
 */
export function createOriginPolicy(settings: OriginSettings): OriginPolicy {
  const allowed = new Set(settings.allowedOrigins);

  /** Scheme and host (with port) both match: `ftp://` or `http://` on an https host is another origin. */
  function sameOrigin(origin: string, req: IncomingMessage): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== `${requestScheme(req)}:`) {
      return false;
    }
    const host = url.host.toLowerCase();
    // Behind a proxy the browser's host arrives as X-Forwarded-Host (or a preserved Host).
    return host === firstValue(req.headers['x-forwarded-host']) || host === firstValue(req.headers.host);
  }

  return {
    check(req) {
      const origin = req.headers.origin;
      if (origin === undefined) {
        return { allowed: true };
      }
      if (allowed.has(origin)) {
        return { allowed: true, corsOrigin: origin };
      }
      if (sameOrigin(origin, req)) {
        return { allowed: true };
      }
      return settings.enforce ? { allowed: false, origin } : { allowed: true };
    },
    corsHeaders(origin) {
      return {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        // Not a CORS-safelisted response header: without this a page could not see when to retry.
        'Access-Control-Expose-Headers': 'Retry-After',
        Vary: 'Origin',
      };
    },
    preflightHeaders() {
      return {
        'Access-Control-Allow-Methods': 'POST',
        'Access-Control-Allow-Headers': 'Content-Type, Content-Encoding, Authorization',
        'Access-Control-Max-Age': String(MAX_AGE_SECONDS),
      };
    },
  };
}
