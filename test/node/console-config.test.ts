/**
 * The console Worker (wrangler.console.toml) runs the same code against the same resources as the webhook Worker:
 * its vars, D1 database, KV binding, queue and auth rate limiter must equal wrangler.toml's, or a page would read
 * another CRM, database or namespace than the webhooks do.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';

const webhook = unstable_getMiniflareWorkerOptions('wrangler.toml').workerOptions as Record<string, any>;
const console_ = unstable_getMiniflareWorkerOptions('wrangler.console.toml').workerOptions as Record<string, any>;

it('has the same vars as the webhook Worker', () => {
  expect(console_.bindings).toEqual(webhook.bindings);
});

it('is bound to the same database, namespace, queue and sign-in rate limiter', () => {
  expect(console_.d1Databases).toEqual(webhook.d1Databases);
  expect(console_.kvNamespaces).toEqual(webhook.kvNamespaces);
  expect(console_.queueProducers).toEqual(webhook.queueProducers);
  expect(console_.ratelimits?.AUTH_RATE_LIMITER).toEqual(webhook.ratelimits?.AUTH_RATE_LIMITER);
  expect(console_.compatibilityDate).toBe(webhook.compatibilityDate);
});

it('has no URL of its own: it is reached through the webhook Worker’s CONSOLE binding', () => {
  const toml = readFileSync('wrangler.console.toml', 'utf8');
  expect(toml).toMatch(/^workers_dev = false$/m);
  expect(webhook.serviceBindings?.CONSOLE?.name).toBe(/^name = "([^"]+)"/m.exec(toml)![1]);
});

it('reserves every var of both Workers, so no endpoint can verify against one (e.g. CRM_AUTH_SCHEME)', async () => {
  // (through a variable: src/ is type-checked by its own tsconfig, for workerd, not by this one)
  const module = '../../src/verify/secret-name.ts';
  const { ADAPTER_VARIABLES, isEndpointSecretName } = (await import(module)) as {
    ADAPTER_VARIABLES: ReadonlySet<string>;
    isEndpointSecretName: (name: string) => boolean;
  };
  const vars = (file: string) =>
    /^\[vars\]$([\s\S]*?)(?:^\[|(?![\s\S]))/m.exec(readFileSync(file, 'utf8'))![1]!.match(/^[A-Z][A-Z0-9_]*(?= *=)/gm)!;
  const names = [
    ...vars('wrangler.toml'),
    ...vars('wrangler.console.toml'),
    'CRM_API_TOKEN',
    'ADMIN_TOKEN',
    'SECRETS_KEY',
  ];
  expect(names.length).toBeGreaterThan(10);
  for (const name of names) {
    expect(ADAPTER_VARIABLES.has(name), `${name} is missing from ADAPTER_VARIABLES`).toBe(true);
    expect(isEndpointSecretName(name)).toBe(false);
  }
  expect(isEndpointSecretName('CRM_SOMETHING_ADDED_LATER')).toBe(false);
  expect(isEndpointSecretName('LANDING_FORM_TOKEN')).toBe(true);
});
