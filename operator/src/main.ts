// webrana-operator: the process. Only this file touches process (argv, env, signals, exit code).
import { createLogger } from '@webrana/logger';
import { webranaDatabaseCrd } from './api/crd';
import { webranaRestoreCrd } from './restore/crd';
import { ENV_HELP, loadConfig } from './runtime/config';
import { loadKubeAccess } from './runtime/kubeconfig';
import { createOperator } from './runtime/operator';

const USAGE = `usage: webrana-operator [run]    run the operator (the container's command)
       webrana-operator crd      print the WebranaDatabase CustomResourceDefinition (YAML)
       webrana-operator crd restore   print the WebranaRestore CustomResourceDefinition (YAML)
       webrana-operator --help

Watches WebranaDatabase resources (webrana.cloud/v1alpha1), runs each service's migration Job in
dependency order, keeps one pg_dump CronJob per service, and reports in the resource's status.
Watches WebranaRestore resources too: one restore Job each, holding that service's migrations and
backups (and, when asked, its Deployment at 0 replicas) while it runs.
Logs are JSON lines on stdout.

${ENV_HELP}
`;

/**
 * The CRD file as charts/webrana-operator/crds/ holds it, written by client-node's YAML dump (read
 * back through loadYaml first, so its serializer knows the object as a CustomResourceDefinition).
 */
async function renderCrdYaml(which: 'database' | 'restore'): Promise<string> {
  // Loaded here only: client-node brings its whole generated API, which the running operator does without.
  const { dumpYaml, loadYaml } = await import('@kubernetes/client-node');
  return (
    (which === 'restore'
      ? '# Generated from operator/src/restore/crd.ts (node operator/bin/webrana-operator.js crd restore > this file,\n'
      : '# Generated from operator/src/api/crd.ts (node operator/bin/webrana-operator.js crd > this file,\n') +
    '# then npx prettier --write). Do not edit by hand: a unit test fails when file and source differ.\n' +
    dumpYaml(loadYaml(JSON.stringify(which === 'restore' ? webranaRestoreCrd() : webranaDatabaseCrd())))
  );
}

async function main(argv: string[]): Promise<number> {
  const [command = 'run', ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === 'crd' && rest.length <= 1 && ['database', 'restore', undefined].includes(rest[0])) {
    process.stdout.write(await renderCrdYaml(rest[0] === 'restore' ? 'restore' : 'database'));
    return 0;
  }
  if (command !== 'run' || rest.length > 0) {
    process.stderr.write(`webrana-operator: unexpected arguments: ${argv.join(' ')}\n\n${USAGE}`);
    return 2;
  }

  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`webrana-operator: ${(err as Error).message}\n`);
    return 2;
  }
  const log = createLogger({ name: 'webrana-operator', level: config.logLevel });
  let kc;
  try {
    kc = loadKubeAccess(process.env);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'could not read the kubeconfig');
    return 2;
  }
  const server = kc?.getCurrentCluster()?.server;
  if (!kc || !server) {
    log.fatal('no Kubernetes cluster configured (KUBECONFIG, in-cluster service account or ~/.kube/config)');
    return 2;
  }

  let exiting = false;
  const exit = (code: number) => {
    process.exitCode = code;
    // Whatever still holds the event loop (sockets closing) gets a moment, not forever.
    setTimeout(() => process.exit(code), 2000).unref();
  };
  const operator = createOperator({
    config,
    kc,
    log,
    onFatal: (reason) => {
      if (exiting) return;
      exiting = true;
      log.error({ reason }, 'stopping');
      exit(1);
    },
  });
  await new Promise<void>((resolve, reject) => {
    operator.server.once('error', reject);
    operator.server.listen(config.httpPort, config.httpHost, () => resolve());
  });
  const address = operator.server.address();
  log.info(
    {
      apiserver: server,
      http: typeof address === 'object' && address ? `${address.address}:${address.port}` : String(address),
      watchNamespace: config.watchNamespace ?? '(all)',
      identity: config.identity,
      leaderElect: config.leaderElect,
      workers: config.workers,
    },
    'webrana-operator started',
  );
  operator.start();

  const shutdown = (signal: string) => {
    if (exiting) return;
    exiting = true;
    log.info({ signal }, 'shutting down');
    operator
      .stop()
      .then(
        () => new Promise<void>((resolve) => operator.server.close(() => resolve())),
        (err: Error) => log.error({ err: err.message }, 'error while stopping'),
      )
      .finally(() => {
        log.info('stopped');
        exit(0);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`webrana-operator: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
