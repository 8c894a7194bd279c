import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LeaseTable, type LeaseTableProps } from '../../lib/cdk/index.js';
import { LeaseAttribute, ReaperIndex, SessionIndex } from '../../lib/core/schema.js';
import { templateOf, testStack } from './synth.js';

const US_EAST_1 = { env: { region: 'us-east-1', account: '111111111111' } };

describe('LeaseTable across Regions', () => {
  it('is a global table with multi-Region strong consistency, protected and recoverable in every Region', () => {
    const stack = testStack(US_EAST_1);
    new LeaseTable(stack, 'Leases', { replicaRegions: ['us-east-2', 'us-west-2'] });
    const template = templateOf(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
    const perReplica = {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    };
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      MultiRegionConsistency: 'STRONG',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: LeaseAttribute.name, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: ReaperIndex.name }),
        Match.objectLike({
          IndexName: SessionIndex.name,
          KeySchema: [
            { AttributeName: SessionIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: SessionIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...SessionIndex.projectedAttributes] },
        }),
      ],
    });
    for (const region of ['us-east-1', 'us-east-2', 'us-west-2']) {
      template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        Replicas: Match.arrayWith([Match.objectLike({ Region: region, ...perReplica })]),
      });
    }
  });

  it('takes one replica and a witness Region', () => {
    const stack = testStack(US_EAST_1);
    new LeaseTable(stack, 'Leases', { replicaRegions: ['us-east-2'], witnessRegion: 'us-west-2' });
    templateOf(stack).hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      MultiRegionConsistency: 'STRONG',
      GlobalTableWitnesses: [{ Region: 'us-west-2' }],
    });
  });

  it('encrypts every replica with its own customer-managed key', () => {
    const stack = testStack(US_EAST_1);
    const key = new kms.Key(stack, 'Key');
    const replicaKeyArns = {
      'us-east-2': 'arn:aws:kms:us-east-2:111111111111:key/a',
      'us-west-2': 'arn:aws:kms:us-west-2:111111111111:key/b',
    };
    new LeaseTable(stack, 'Leases', { replicaRegions: ['us-east-2', 'us-west-2'], encryptionKey: key, replicaKeyArns });
    templateOf(stack).hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: Match.arrayWith([
        Match.objectLike({ Region: 'us-east-2', SSESpecification: { KMSMasterKeyId: replicaKeyArns['us-east-2'] } }),
      ]),
    });
  });

  it.each<[string, LeaseTableProps, string]>([
    [
      'an eventually consistent global table',
      { replicaRegions: ['us-east-2', 'us-west-2'], multiRegionConsistency: dynamodb.MultiRegionConsistency.EVENTUAL },
      'LeaseTableProps.multiRegionConsistency: must be STRONG: on an eventually consistent global table two Regions can ' +
        'grant the same lease at once. Use MultiRegionConsistency.STRONG, or omit replicaRegions for a single-Region table',
    ],
    [
      'one replica without a witness',
      { replicaRegions: ['us-east-2'] },
      'LeaseTableProps.replicaRegions: a strongly consistent global table spans exactly three Regions: give two replica ' +
        'Regions, or one and a witnessRegion; got 1 replica Region(s)',
    ],
    [
      'two replicas and a witness',
      { replicaRegions: ['us-east-2', 'us-west-2'], witnessRegion: 'us-west-1' },
      'LeaseTableProps.replicaRegions: a strongly consistent global table spans exactly three Regions: give two replica ' +
        'Regions, or one and a witnessRegion; got 2 replica Region(s) and a witness',
    ],
    [
      'an empty replica list',
      { replicaRegions: [] },
      'LeaseTableProps.replicaRegions: a strongly consistent global table spans exactly three Regions: give two replica ' +
        'Regions, or one and a witnessRegion; got 0 replica Region(s)',
    ],
    [
      "a replica in the stack's own Region",
      { replicaRegions: ['us-east-1', 'us-west-2'] },
      "LeaseTableProps.replicaRegions: Regions must differ from each other and from the stack's (us-east-1, us-east-1, us-west-2)",
    ],
    [
      'a witness without replicas',
      { witnessRegion: 'us-west-2' },
      'LeaseTableProps.witnessRegion: applies only to a multi-Region table; set replicaRegions too',
    ],
    [
      'a consistency mode without replicas',
      { multiRegionConsistency: dynamodb.MultiRegionConsistency.STRONG },
      'LeaseTableProps.multiRegionConsistency: applies only to a multi-Region table; set replicaRegions too',
    ],
    [
      'replica keys without a key',
      { replicaRegions: ['us-east-2', 'us-west-2'], replicaKeyArns: { 'us-east-2': 'arn', 'us-west-2': 'arn' } },
      'LeaseTableProps.replicaKeyArns: applies only with encryptionKey',
    ],
    [
      'an unknown prop',
      { replicas: ['us-east-2'] } as LeaseTableProps,
      'LeaseTableProps.replicas: unknown prop; expected one of tableName, removalPolicy, deletionProtection, ' +
        'pointInTimeRecovery, encryptionKey, stream, replicaRegions, witnessRegion, multiRegionConsistency, replicaKeyArns',
    ],
  ])('refuses %s at synth time, naming the prop', (_case, props, message) => {
    const stack = testStack(US_EAST_1);
    expect(() => new LeaseTable(stack, 'Leases', props)).toThrow(message);
  });

  it('refuses a key without a key ARN for each replica Region', () => {
    const stack = testStack(US_EAST_1);
    const props = { replicaRegions: ['us-east-2', 'us-west-2'], encryptionKey: new kms.Key(stack, 'Key'), replicaKeyArns: {} };
    expect(() => new LeaseTable(stack, 'Leases', props)).toThrow(
      'LeaseTableProps.replicaKeyArns: lacks a key ARN for replica Region us-east-2',
    );
  });

  it('refuses replicas in a stack without an explicit Region', () => {
    const stack = testStack();
    expect(() => new LeaseTable(stack, 'Leases', { replicaRegions: ['us-east-2', 'us-west-2'] })).toThrow(
      'LeaseTableProps.replicaRegions: needs a stack with an explicit region (env: { region }), the primary Region',
    );
  });

  it('fails synth when an escape hatch makes the global table eventually consistent', () => {
    const stack = testStack(US_EAST_1);
    const leases = new LeaseTable(stack, 'Leases', { replicaRegions: ['us-east-2', 'us-west-2'] });
    (leases.node.findChild('Resource').node.defaultChild as dynamodb.CfnGlobalTable).multiRegionConsistency = 'EVENTUAL';
    expect(() => templateOf(stack)).toThrow(/the global table must keep MultiRegionConsistency STRONG/);
  });
});
