/**
 * Grafana's Echo service (public/app/core/services/echo/Echo.ts) as plugins reach it through
 * `getEchoSrv()` / `registerEchoBackend`: an event goes, with the page's meta added, to every backend
 * whose `supportedEvents` lists its type (or that lists none), and backends are flushed on a timer;
 * interaction subscribers hear interactions first, silent ones only them.
 * `FakeEchoSrv` from @grafana/runtime only buffers events, so it cannot stand in for delivery.
 */
import { config, type EchoBackend, type EchoEvent, type EchoMeta, type EchoSrv } from '@grafana/runtime';

/** Grafana's default flush interval. */
const FLUSH_INTERVAL_MS = 10_000;

export function createEchoSrv(): EchoSrv {
  const backends: EchoBackend[] = [];
  const interactionSubscribers = new Map<string, Set<(properties: Record<string, unknown>) => void>>();

  const meta = (): EchoMeta => {
    const user = config.bootData.user;
    return {
      sessionId: '',
      userId: user.id,
      userLogin: user.login,
      userSignedIn: user.isSignedIn,
      orgRole: user.orgRole,
      orgId: user.orgId,
      // Grafana names these the other way round; kept as it is.
      screenSize: { width: window.innerWidth, height: window.innerHeight },
      windowSize: { width: window.screen.width, height: window.screen.height },
      userAgent: window.navigator.userAgent,
      ts: Date.now(),
      timeSinceNavigationStart: performance.now(),
      path: window.location.pathname,
      url: window.location.href,
    };
  };

  const echo: EchoSrv = {
    flush() {
      for (const backend of backends) {
        backend.flush();
      }
    },
    addBackend(backend) {
      backends.push(backend);
    },
    addEvent<T extends EchoEvent>(event: Omit<T, 'meta'>, extraMeta?: object) {
      const full = { ...event, meta: { ...meta(), ...extraMeta } };
      if (full.type === 'interaction') {
        const payload = full.payload as {
          interactionName?: string;
          properties?: Record<string, unknown>;
          silent?: boolean;
        };
        for (const callback of interactionSubscribers.get(payload.interactionName ?? '') ?? []) {
          callback(payload.properties ?? {});
        }
        if (payload.silent) {
          return;
        }
      }
      for (const backend of backends) {
        if (backend.supportedEvents.length === 0 || backend.supportedEvents.includes(full.type)) {
          backend.addEvent(full);
        }
      }
    },
    onInteraction(name, callback) {
      const subscribers = interactionSubscribers.get(name) ?? new Set();
      interactionSubscribers.set(name, subscribers);
      subscribers.add(callback);
      return () => subscribers.delete(callback);
    },
  };
  setInterval(() => echo.flush(), FLUSH_INTERVAL_MS);
  return echo;
}
