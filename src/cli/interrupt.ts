import { ExitCode } from '../errors.ts';
import type { Output } from './output.ts';

/**
 * Runs `work` with Ctrl-C turned into an abort signal: the first Ctrl-C asks the work to
 * cancel its running statement on the server and roll back (the backend must not stay
 * queued for a lock after pgmask exits), a second one exits at once.
 */
export async function withInterrupt<T>(out: Output, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted);
    out.err('interrupted: cancelling the running statement on the server and rolling back … (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
