/**
 * An Echo service that hands every event to the backends registered for its type at once, as
 * Grafana's own EchoSrv does (FakeEchoSrv from @grafana/runtime only buffers and has no backends).
 */
import { setEchoSrv, type EchoBackend, type EchoEvent, type EchoMeta, type EchoSrv } from '@grafana/runtime';

const META: EchoMeta = {
  screenSize: { width: 1920, height: 1080 },
  windowSize: { width: 1920, height: 960 },
  userAgent: 'jsdom',
  sessionId: 'echo-session',
  userLogin: 'jdoe',
  userId: 42,
  userSignedIn: true,
  orgRole: 'Editor',
  orgId: 1,
  ts: 0,
  timeSinceNavigationStart: 0,
};

export function installDeliveringEchoSrv(): { readonly backends: readonly EchoBackend[] } {
  const backends: EchoBackend[] = [];
  const srv: EchoSrv = {
    flush: () => backends.forEach((b) => b.flush()),
    addBackend: (backend) => void backends.push(backend),
    addEvent<T extends EchoEvent>(event: Omit<T, 'meta'>, meta?: Record<string, unknown>) {
      const full = { ...event, meta: { ...META, ts: Date.now(), ...meta } };
      for (const b of backends) {
        if (b.supportedEvents.includes(event.type)) {
          b.addEvent(full);
        }
      }
    },
    onInteraction: () => () => undefined,
  };
  setEchoSrv(srv);
  return { backends };
}
