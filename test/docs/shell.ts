import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What one block printed. */
export interface BlockRun {
  readonly stdout: string;
  readonly stderr: string;
}

const DONE = '__DOC_TEST_BLOCK_DONE__';

/**
 * One bash process for a whole document, as a reader's terminal: each block is sourced in turn
 * (so its variables stay set for the next), with `set -eo pipefail`, in `dir`. A block's output
 * goes to a file of its own, where background jobs it starts keep writing. The process runs in a
 * process group of its own, so {@link close} ends it together with those jobs.
 */
export class ShellSession {
  private readonly bash: ChildProcessWithoutNullStreams;
  private output = '';
  private exited?: number | null;
  private waiter?: () => void;
  private blocks = 0;
  /** Output files of earlier blocks, and how much of each a reader has already seen. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly dir: string,
    env: Record<string, string>,
  ) {
    this.bash = spawn('bash', ['--noprofile', '--norc'], { cwd: dir, env, detached: true });
    this.bash.stdout.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
      this.waiter?.();
    });
    this.bash.stderr.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    this.bash.on('exit', (code) => {
      this.exited = code;
      this.waiter?.();
    });
    this.bash.stdin.write('set -eo pipefail\n');
  }

  /** Runs one block; rejects when bash exits (a failing command) or the block outlasts `timeoutMs`. */
  async run(script: string, timeoutMs: number): Promise<BlockRun> {
    const n = ++this.blocks;
    const file = (name: string) => path.join(this.dir, `block-${n}.${name}`);
    writeFileSync(file('sh'), `${script}\n`);
    this.output = '';
    this.bash.stdin.write(`{ . ./block-${n}.sh; } > block-${n}.out 2> block-${n}.err\necho ${DONE}${n}\n`);
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes(`${DONE}${n}`)) {
      if (this.exited !== undefined) break;
      if (Date.now() > deadline) throw new Error(`the block did not finish within ${timeoutMs} ms${this.tail(n)}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 100);
      });
    }
    if (this.exited !== undefined)
      throw new Error(`a command of the block failed (bash exited with ${this.exited})${this.tail(n)}`);
    const stdout = readFileSync(file('out'), 'utf8');
    this.seen.set(file('out'), Buffer.byteLength(stdout));
    return { stdout, stderr: readFileSync(file('err'), 'utf8') };
  }

  /**
   * What background jobs of earlier blocks printed since a reader last looked (and, with
   * `consume`, mark it seen).
   */
  backgroundOutput(consume: boolean): string {
    let text = '';
    for (const [file, offset] of this.seen) {
      const content = readFileSync(file);
      if (content.length > offset) text += content.subarray(offset).toString();
      if (consume) this.seen.set(file, content.length);
    }
    return text;
  }

  /** What earlier blocks (their background jobs, mostly) wrote to stderr, for failure messages. */
  errorOutput(): string {
    return [...this.seen.keys()]
      .map((file) => readFileSync(file.replace(/\.out$/, '.err'), 'utf8').trim())
      .filter(Boolean)
      .join('\n');
  }

  private tail(n: number): string {
    const read = (name: string) => {
      const file = path.join(this.dir, `block-${n}.${name}`);
      return existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    };
    const out = read('out');
    const err = read('err');
    return `${out ? `\n--- stdout\n${out}` : ''}${err ? `\n--- stderr\n${err}` : ''}`;
  }

  /** Ends bash and every job it started. */
  close(): void {
    if (this.bash.pid === undefined) return;
    try {
      process.kill(-this.bash.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
}
