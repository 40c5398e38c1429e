import type { Request, Response } from 'express';

export interface Health {
  /** Liveness: the process answers. */
  live(req: Request, res: Response): void;
  /** Readiness: listening and not shutting down. */
  ready(req: Request, res: Response): void;
  setReady(ready: boolean): void;
}

export function createHealth(): Health {
  let ready = false;
  return {
    live: (_req, res) => void res.status(200).type('text/plain').send('ok\n'),
    ready: (_req, res) =>
      void res
        .status(ready ? 200 : 503)
        .type('text/plain')
        .send(ready ? 'ready\n' : 'not ready\n'),
    setReady(value) {
      ready = value;
    },
  };
}
