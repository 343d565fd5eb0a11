/**
 * The Worker under test in the `workers` project: the webhook Worker as deployed, plus the console Worker behind
 * its CONSOLE service binding (vitest.config.ts binds CONSOLE to this entrypoint, so /console goes through a real
 * service-binding hop, with the same local D1, KV and Queue).
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import consoleWorker from '../src/console/worker';

export { default, CrmCoordinator } from '../src/index';

export class ConsoleWorker extends WorkerEntrypoint<Env> {
  override fetch(request: Request) {
    return consoleWorker.fetch(request, this.env, this.ctx);
  }
}
