import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Where each external tool comes from, for the error when it is missing. */
const INSTALL_HINT: Record<string, string> = {
  pg_dump: 'install the PostgreSQL 15 client tools (Debian: postgresql-client-15)',
  pg_restore: 'install the PostgreSQL 15 client tools (Debian: postgresql-client-15)',
  psql: 'install the PostgreSQL 15 client tools (Debian: postgresql-client-15)',
  zstd: 'install zstd (Debian: apt-get install zstd; macOS: brew install zstd)',
  tar: 'install tar (Debian: apt-get install tar)',
};

export interface RunningTool {
  /** stdin is null when it was another tool's stdout (opts.stdin). */
  child: ChildProcessByStdio<Writable | null, Readable, Readable>;
  /** Settles when the process has exited and its output is read; stdout only when asked (it may be large). */
  done: Promise<ToolResult>;
}

/**
 * Starts an external tool with its output piped; a missing tool rejects `done` with how to install it.
 * `opts.stdin`: another tool's stdout, joined at the OS level (a pipe between the two processes, so
 * the bytes never pass through this one).
 */
export function startTool(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  opts: { keepStdout?: boolean; stdin?: Readable } = {},
): RunningTool {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: [opts.stdin ?? 'pipe', 'pipe', 'pipe'],
  }) as RunningTool['child'];
  // The child has its own copy of the pipe now; ours would keep the writer's 'close' waiting.
  opts.stdin?.destroy();
  child.stdin?.on('error', () => undefined); // a reader that exits early: its exit status tells why
  const done = new Promise<ToolResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    if (opts.keepStdout) child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => {
      const tool = command.split('/').at(-1)!;
      reject(
        error.code === 'ENOENT' ? new Error(`${command} not found: ${INSTALL_HINT[tool] ?? 'install it'}`) : error,
      );
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

/** Runs a tool with nothing on stdin; output is collected (stdout only when asked). */
export function runTool(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  opts: { keepStdout?: boolean } = {},
): Promise<ToolResult> {
  const tool = startTool(command, args, env, opts);
  tool.child.stdin?.end();
  if (!opts.keepStdout) tool.child.stdout.resume();
  return tool.done;
}

/** The PostgreSQL client tool to run: PG_BIN_DIR/<tool> when set, else <tool> on PATH. */
export function toolPath(tool: 'pg_dump' | 'pg_restore' | 'psql', env: NodeJS.ProcessEnv): string {
  return env.PG_BIN_DIR ? `${env.PG_BIN_DIR}/${tool}` : tool;
}
