import * as os from 'node:os';
import { z } from 'zod';

/** The operator process's configuration: environment variables, checked once at start. */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const seconds = (def: number) => z.coerce.number().positive().default(def);

const ConfigSchema = z
  .object({
    WATCH_NAMESPACE: z.string().optional().describe('only this namespace (default: all)'),
    POD_NAMESPACE: z.string().min(1).default('default').describe('where the leader Lease lives'),
    POD_NAME: z.string().min(1).default(os.hostname()).describe('this replica, for the Lease and Events'),
    LEADER_ELECT: bool.default(true),
    LEASE_NAME: z.string().min(1).default('webrana-operator'),
    LEASE_DURATION_SECONDS: seconds(30),
    RENEW_PERIOD_SECONDS: seconds(10),
    RENEW_DEADLINE_SECONDS: seconds(20),
    RETRY_PERIOD_SECONDS: seconds(5),
    WORKERS: z.coerce.number().int().min(1).max(64).default(4),
    MAX_ACTIVE_MIGRATIONS: z.coerce.number().int().min(0).default(0),
    HTTP_HOST: z.string().default('0.0.0.0'),
    HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    RESYNC_SECONDS: z.coerce.number().min(0).default(600),
    SHUTDOWN_TIMEOUT_SECONDS: seconds(20),
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  })
  .refine((c) => c.RENEW_PERIOD_SECONDS < c.RENEW_DEADLINE_SECONDS, {
    message: 'RENEW_PERIOD_SECONDS must be less than RENEW_DEADLINE_SECONDS',
    path: ['RENEW_PERIOD_SECONDS'],
  })
  .refine((c) => c.RENEW_DEADLINE_SECONDS < c.LEASE_DURATION_SECONDS, {
    message: 'RENEW_DEADLINE_SECONDS must be less than LEASE_DURATION_SECONDS',
    path: ['RENEW_DEADLINE_SECONDS'],
  });

export interface OperatorConfig {
  readonly watchNamespace?: string;
  readonly namespace: string;
  readonly identity: string;
  readonly leaderElect: boolean;
  readonly leaseName: string;
  readonly leaseDurationSeconds: number;
  readonly renewPeriodMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly workers: number;
  readonly maxActiveMigrations: number;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly resyncMs: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: string;
}

/** The config from `env`; throws one message naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): OperatorConfig {
  const picked = Object.fromEntries(
    Object.keys(ConfigSchema.shape)
      .map((k) => [k, env[k] === '' ? undefined : env[k]])
      .filter(([, v]) => v !== undefined),
  );
  const parsed = ConfigSchema.safeParse(picked);
  if (!parsed.success) {
    throw new Error(
      `invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ')}`,
    );
  }
  const c = parsed.data;
  return {
    ...(c.WATCH_NAMESPACE ? { watchNamespace: c.WATCH_NAMESPACE } : {}),
    namespace: c.POD_NAMESPACE,
    identity: c.POD_NAME,
    leaderElect: c.LEADER_ELECT,
    leaseName: c.LEASE_NAME,
    leaseDurationSeconds: c.LEASE_DURATION_SECONDS,
    renewPeriodMs: c.RENEW_PERIOD_SECONDS * 1000,
    renewDeadlineMs: c.RENEW_DEADLINE_SECONDS * 1000,
    retryPeriodMs: c.RETRY_PERIOD_SECONDS * 1000,
    workers: c.WORKERS,
    maxActiveMigrations: c.MAX_ACTIVE_MIGRATIONS,
    httpHost: c.HTTP_HOST,
    httpPort: c.HTTP_PORT,
    resyncMs: c.RESYNC_SECONDS * 1000,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    logLevel: c.LOG_LEVEL,
  };
}

export const ENV_HELP = `Environment:
  KUBECONFIG                 kubeconfig file (default: in-cluster service account, then ~/.kube/config)
  WATCH_NAMESPACE            watch only this namespace (default: all namespaces)
  POD_NAMESPACE              namespace of the leader Lease (default: default)
  POD_NAME                   this replica's identity (default: host name)
  LEADER_ELECT               true|false (default true): one active replica at a time
  LEASE_NAME                 default webrana-operator
  LEASE_DURATION_SECONDS     default 30; RENEW_PERIOD_SECONDS 10; RENEW_DEADLINE_SECONDS 20; RETRY_PERIOD_SECONDS 5
  WORKERS                    concurrent reconciles (default 4; never two of one resource)
  MAX_ACTIVE_MIGRATIONS      at most this many migration Jobs running at once, all resources together
                             (default 0: no limit); the others wait with a "free slot" message
  HTTP_HOST, HTTP_PORT       /metrics, /healthz, /readyz (default 0.0.0.0:8080)
  RESYNC_SECONDS             re-check every resource this often (default 600; 0: never)
  SHUTDOWN_TIMEOUT_SECONDS   how long SIGTERM waits for running reconciles (default 20)
  LOG_LEVEL                  trace|debug|info|warn|error (default info)`;
