/**
 * Starts the local DynamoDB servers once for the whole run and stops them afterwards.
 * `LEASEHOLD_TEST_BACKENDS=dynamodb-local,dynalite` narrows the set; `LEASEHOLD_TEST_ENDPOINT`
 * runs the suite against that endpoint alone (a real table, with real credentials).
 */
import type { TestProject } from 'vitest/node';
import { startDynalite, startDynamoDBLocal, type LocalDynamoDB } from '../../lib/testing/local-dynamodb.js';
import { bundleLambdas } from '../../harness/local/bundle-lambdas.js';

type BackendName = 'dynamodb-local' | 'dynalite' | 'endpoint';

declare module 'vitest' {
  export interface ProvidedContext {
    leaseholdBackends: { name: BackendName; endpoint: string }[];
  }
}

const starters: Record<string, () => Promise<LocalDynamoDB>> = {
  'dynamodb-local': () => startDynamoDBLocal(),
  dynalite: () => startDynalite(),
};

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The reaper and lease-events constructs deploy the bundled handlers: build them from the source under test.
  await bundleLambdas();
  const endpoint = process.env.LEASEHOLD_TEST_ENDPOINT;
  if (endpoint) {
    project.provide('leaseholdBackends', [{ name: 'endpoint', endpoint }]);
    return async () => {};
  }
  const names = (process.env.LEASEHOLD_TEST_BACKENDS ?? 'dynamodb-local,dynalite')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!starters[name]) {
      throw new Error(`LEASEHOLD_TEST_BACKENDS: unknown backend "${name}"; expected dynamodb-local and/or dynalite`);
    }
  }
  const servers = await Promise.all(names.map((name) => starters[name]!()));
  project.provide(
    'leaseholdBackends',
    servers.map((server) => ({ name: server.kind, endpoint: server.endpoint })),
  );
  return async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
}
