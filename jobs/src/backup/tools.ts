import { spawn } from 'node:child_process';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a PostgreSQL client tool; output is collected (stdout only when asked, it may be large). */
export function runTool(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  opts: { keepStdout?: boolean } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (opts.keepStdout) stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new Error(`${command} not found: install the PostgreSQL 15 client tools (Debian: postgresql-client-15)`)
          : error,
      ),
    );
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The PostgreSQL client tool to run: PG_BIN_DIR/<tool> when set, else <tool> on PATH. */
export function toolPath(tool: 'pg_dump' | 'pg_restore' | 'psql', env: NodeJS.ProcessEnv): string {
  return env.PG_BIN_DIR ? `${env.PG_BIN_DIR}/${tool}` : tool;
}
