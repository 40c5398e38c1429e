export { cookieValue, createGrafanaSessionAuthorizer } from './grafana-session.js';
export type {
  AuthDecision,
  AuthOutcome,
  GrafanaIdentity,
  GrafanaSessionAuthorizer,
  GrafanaSessionSettings,
} from './grafana-session.js';
