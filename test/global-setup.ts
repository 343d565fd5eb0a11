import type { TestProject } from 'vitest/node';
import { startCrmStub, type CrmStub } from '../tools/crm-stub/server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    crmUrl: string;
  }
}

let stub: CrmStub | undefined;

/** Starts the stand-in CRM once for the whole run, on a free loopback port. */
export async function setup(project: TestProject) {
  stub = await startCrmStub({ token: 'test-crm-token' });
  project.provide('crmUrl', stub.url);
}

export async function teardown() {
  await stub?.close();
}
