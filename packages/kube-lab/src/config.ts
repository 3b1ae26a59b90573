import * as path from 'node:path';
import { z } from 'zod';
import { REPO_ROOT } from '@webrana/registry';

const requiredFlag = (flag: string) => z.string({ error: `${flag} is required` }).min(1, `${flag} is required`);

/** The kube-lab kubelet's configuration: its command line, validated once at start. */
export const KubeletConfigSchema = z.object({
  kubeconfig: requiredFlag('--kubeconfig'),
  stateDir: requiredFlag('--state-dir'),
  nodeName: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, '--node-name must be a DNS subdomain')
    .default('kube-lab'),
  /** The container log endpoint (log-server.ts): its serving certificate, and the CA its clients must present. */
  tlsCertFile: requiredFlag('--tls-cert-file'),
  tlsPrivateKeyFile: requiredFlag('--tls-private-key-file'),
  clientCaFile: requiredFlag('--client-ca-file'),
  /** Its port; 0 takes any free one (published in the Node's daemonEndpoints either way). */
  port: z.coerce.number().int().min(0).max(65535).default(0),
  /** This checkout, whose built entrypoints the webrana/* images run. */
  repoRoot: z.string().min(1).default(REPO_ROOT),
  /** Exit (stopping every container) when this process, the lab's apiserver, is gone. */
  exitWithPid: z.coerce.number().int().positive().optional(),
  restartBackoffMs: z.coerce.number().int().positive().default(1000),
  maxRestartBackoffMs: z.coerce.number().int().positive().default(30_000),
  retryMs: z.coerce.number().int().positive().default(1000),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
});
export type KubeletConfig = z.infer<typeof KubeletConfigSchema>;

export const KUBELET_USAGE = `Usage: node packages/kube-lab/dist/kubelet.js --kubeconfig <file> --state-dir <dir>
         --tls-cert-file <file> --tls-private-key-file <file> --client-ca-file <file> [options]

The kube-lab kubelet: registers a Ready Node, binds unscheduled pods to it and runs their containers
as host processes. Usually started by scripts/kube-lab/kubelet; see "Kubernetes tests (kube-lab)" in
README.md.

Options:
  --kubeconfig <file>            credentials for the lab apiserver (required)
  --state-dir <dir>              volumes, container roots and logs (required)
  --tls-cert-file <file>         serving certificate of the container log endpoint (required)
  --tls-private-key-file <file>  its key (required)
  --client-ca-file <file>        CA that signs the apiserver's kubelet client certificate (required)
  --port <port>                  log endpoint port (default 0: any free port, published on the Node)
  --node-name <name>             default kube-lab
  --repo-root <dir>              checkout whose builds webrana/* images run (default: this one)
  --exit-with-pid <pid>          stop when that process (the lab apiserver) exits
  --restart-backoff-ms <ms>      first restart back-off (default 1000, doubling)
  --max-restart-backoff-ms <ms>  restart back-off cap (default 30000)
  --retry-ms <ms>                retry interval for missing Secrets/ConfigMaps/PVCs (default 1000)
  --log-level <level>            trace|debug|info|warn|error (default info)`;

/** `--name value` / `--name=value` flags to the config (camelCased); throws naming the bad flag. */
export function parseKubeletArgs(argv: readonly string[]): KubeletConfig {
  const raw: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument "${arg}"`);
    const key = (m[1] ?? '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(key in KubeletConfigSchema.shape)) throw new Error(`unknown option --${m[1]}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`option --${m[1]} needs a value`);
    raw[key] = value;
  }
  const parsed = KubeletConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; '));
  }
  return {
    ...parsed.data,
    stateDir: path.resolve(parsed.data.stateDir),
    kubeconfig: path.resolve(parsed.data.kubeconfig),
    tlsCertFile: path.resolve(parsed.data.tlsCertFile),
    tlsPrivateKeyFile: path.resolve(parsed.data.tlsPrivateKeyFile),
    clientCaFile: path.resolve(parsed.data.clientCaFile),
  };
}
