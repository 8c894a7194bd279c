/**
 * Deploys the example app the way users do, with the real CDK CLI (`cdk bootstrap`, `cdk deploy`,
 * `cdk destroy`), to moto_server on loopback, and checks what it created with the AWS SDK.
 * Slow for a unit test (~20 s), so it lives in its own file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReaperIndex, SessionIndex } from '../../lib/core/schema.js';
import { deployExample, destroyExample } from '../../harness/local/deploy-local.js';
import { describeLocalAccount, startMoto, type LocalAws, type LocalDeployment } from '../../harness/local/local-aws.js';

describe('cdk deploy of the example app to moto', () => {
  let aws: LocalAws;
  let assemblyDir: string;
  let deployed: LocalDeployment;

  beforeAll(async () => {
    assemblyDir = mkdtempSync(join(tmpdir(), 'leasehold-deploy-'));
    aws = await startMoto();
    await deployExample(aws, assemblyDir);
    deployed = await describeLocalAccount(aws);
  }, 300_000);

  afterAll(async () => {
    await aws?.stop();
    rmSync(assemblyDir, { recursive: true, force: true });
  });

  it('creates the lease table with its reaper and session indexes and deletion protection', () => {
    expect(deployed.tables).toEqual([
      {
        name: expect.stringMatching(/^LeaseholdExample-ElectionTable/),
        indexes: [ReaperIndex.name, SessionIndex.name],
        deletionProtection: true,
      },
    ]);
  });

  it('creates the reaper and the singleton functions on Node.js 22, pointed at the table', () => {
    const [table] = deployed.tables;
    const byName = (prefix: string) => deployed.functions.find((fn) => fn.name.startsWith(prefix));
    const reaper = byName('LeaseholdExample-ElectionReaperFunction');
    const singleton = byName('LeaseholdExample-Singleton');
    expect(deployed.functions).toHaveLength(2);
    expect(reaper).toMatchObject({
      runtime: 'nodejs22.x',
      environment: { LEASEHOLD_TABLE_NAME: table?.name, LEASEHOLD_EVENT_BUS_NAME: 'default' },
    });
    expect(singleton).toMatchObject({ runtime: 'nodejs22.x', environment: { LEASEHOLD_TABLE_NAME: table?.name } });
  });

  it('schedules the reaper every minute through an EventBridge rule targeting it', () => {
    const reaper = deployed.functions.find((fn) => fn.name.startsWith('LeaseholdExample-ElectionReaperFunction'));
    expect(deployed.rules).toContainEqual({
      name: expect.stringMatching(/^LeaseholdExample-ElectionReaperSchedule/),
      schedule: 'rate(1 minute)',
      targets: [reaper?.arn],
    });
  });

  it('leaves the table, and only the table, after cdk destroy', async () => {
    await destroyExample(aws, assemblyDir);
    const after = await describeLocalAccount(aws);
    expect(after.tables).toEqual(deployed.tables);
    expect(after.functions).toEqual([]);
    expect(after.rules).toEqual([]);
  }, 180_000);
});
