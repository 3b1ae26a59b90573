#!/usr/bin/env node
/**
 * The kube-lab kubelet process (main): parses its flags, starts the Kubelet and stops it on SIGTERM or
 * SIGINT (or when --exit-with-pid's process, the lab apiserver, is gone). Started by
 * scripts/kube-lab/kubelet; see agent.ts for what it does.
 */
import { createLogger } from '@webrana/logger';
import { Kubelet } from './agent';
import { KUBELET_USAGE, parseKubeletArgs, type KubeletConfig } from './config';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${KUBELET_USAGE}\n`);
    return;
  }
  let config: KubeletConfig;
  try {
    config = parseKubeletArgs(argv);
  } catch (err) {
    process.stderr.write(`kubelet: ${err instanceof Error ? err.message : String(err)}\n\n${KUBELET_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const log = createLogger({ name: 'kube-lab-kubelet', level: config.logLevel });
  const kubelet = new Kubelet(config, log);

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'stopping');
    kubelet.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (config.exitWithPid !== undefined) {
    const pid = config.exitWithPid;
    setInterval(() => {
      try {
        process.kill(pid, 0);
      } catch {
        stop(`process ${pid} (the lab apiserver) exited`);
      }
    }, 1000).unref();
  }

  try {
    await kubelet.start();
  } catch (err) {
    log.error({ err }, 'kubelet failed to start');
    await kubelet.stop(0).catch(() => undefined);
    process.exit(1);
  }
}

void main();
