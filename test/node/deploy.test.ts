/**
 * `npm run deploy` (scripts/deploy.ts) against a stand-in `wrangler` on PATH that records its calls and
 * keeps an account's state: the first deploy creates what is missing and applies migrations before the code
 * goes live; a second deploy creates nothing; a failed migration deploys nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const STAND_IN = join(import.meta.dirname, 'stand-in-wrangler');

type Account = {
  queues: string[];
  databases: string[];
  namespaces?: string[];
  secrets: string[];
  consoleSecrets?: string[];
  failMigrations?: boolean;
  signedOut?: boolean;
  deployed?: number;
  workers?: Record<string, { database: string | null; namespace: string | null }>;
};

function account(initial: Account) {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-'));
  const state = join(dir, 'state.json');
  const log = join(dir, 'calls.log');
  writeFileSync(state, JSON.stringify(initial));
  writeFileSync(log, '');
  const deploy = () => {
    const env = {
      ...process.env,
      PATH: `${STAND_IN}:${process.env.PATH}`,
      WRANGLER_STATE: state,
      WRANGLER_LOG: log,
      ADMIN_TOKEN: '',
    };
    return spawnSync(process.execPath, ['scripts/deploy.ts'], { encoding: 'utf8', env });
  };
  const calls = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
  const read = () => JSON.parse(readFileSync(state, 'utf8')) as Account;
  return { deploy, calls, read, reset: () => writeFileSync(log, '') };
}

describe('npm run deploy', () => {
  it('first deploy: creates both queues and the database, migrates before deploying, lists the missing secrets', () => {
    const a = account({ queues: [], databases: [], secrets: ['CRM_API_TOKEN'] });
    const run = a.deploy();
    expect(run.status, run.stderr).toBe(0);
    expect(a.calls()).toEqual([
      'whoami',
      'queues info crm-deliveries',
      'queues create crm-deliveries',
      'queues info crm-deliveries-dlq',
      'queues create crm-deliveries-dlq',
      'd1 list --json',
      'd1 create crm-webhook-adapter',
      'd1 list --json',
      'd1 migrations apply crm-webhook-adapter --remote',
      'kv namespace list',
      'kv namespace create crm-webhook-adapter-endpoints',
      'kv namespace list',
      'deploy -c .deploy/wrangler.console.toml',
      'deploy -c .deploy/wrangler.toml',
      'secret list --format json',
      'secret list --format json --name crm-webhook-adapter-console',
    ]);
    const shared = { database: 'uuid-crm-webhook-adapter', namespace: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1' };
    // both Workers are bound to the same database and namespace
    expect(a.read()).toMatchObject({
      queues: ['crm-deliveries', 'crm-deliveries-dlq'],
      databases: ['crm-webhook-adapter'],
      deployed: 2,
      workers: { 'crm-webhook-adapter': shared, 'crm-webhook-adapter-console': shared },
    });
    expect(run.stdout).toContain('Secrets still missing');
    expect(run.stdout).toContain('ADMIN_TOKEN: ');
    expect(run.stdout).toContain('SECRETS_KEY: ');
    expect(run.stdout).not.toContain('CRM_API_TOKEN: ');
    expect(run.stdout).toContain(
      'ADMIN_TOKEN on the console (wrangler secret put ADMIN_TOKEN --name crm-webhook-adapter-console)',
    );
  });

  it('a second deploy creates nothing and deploys again', () => {
    const all = ['CRM_API_TOKEN', 'ADMIN_TOKEN', 'SECRETS_KEY'];
    const a = account({
      queues: ['crm-deliveries', 'crm-deliveries-dlq'],
      databases: ['crm-webhook-adapter'],
      namespaces: ['other', 'crm-webhook-adapter-endpoints'],
      secrets: all,
      consoleSecrets: all,
    });
    const run = a.deploy();
    expect(run.status, run.stderr).toBe(0);
    expect(a.calls().filter((c) => c.includes('create'))).toEqual([]);
    expect(a.calls()).toContain('d1 migrations apply crm-webhook-adapter --remote');
    expect(a.read().deployed).toBe(2);
    expect(a.read().workers!['crm-webhook-adapter-console']!.namespace).toBe('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2');
    expect(run.stdout).toContain('no secret is missing');
  });

  it('without a Cloudflare sign-in, says so in one line (npx wrangler login or CLOUDFLARE_API_TOKEN) and touches nothing', () => {
    const a = account({ queues: [], databases: [], secrets: [], signedOut: true });
    const run = a.deploy();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'deploy: not signed in to Cloudflare: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN)',
    );
    expect(run.stderr).not.toContain('creating queue');
    expect(a.calls()).toEqual(['whoami']);
    expect(a.read().queues).toEqual([]);
  });

  it('a migration that fails stops before the new code goes live', () => {
    const a = account({
      queues: ['crm-deliveries', 'crm-deliveries-dlq'],
      databases: ['crm-webhook-adapter'],
      secrets: [],
      failMigrations: true,
    });
    const run = a.deploy();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('applying D1 migrations failed');
    expect(a.calls().filter((c) => c.startsWith('deploy'))).toEqual([]);
    expect(a.read().deployed).toBeUndefined();
  });
});
