import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { LeaseTable } from '../../lib/cdk/index.js';
import { LeaseAttribute, ReaperIndex, SessionIndex } from '../../lib/core/schema.js';
import { templateOf, testStack } from './synth.js';

function worker(stack: ReturnType<typeof testStack>): iam.Role {
  return new iam.Role(stack, 'Worker', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
}

const tableArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Leases[0-9A-F]{8}$'), 'Arn'] };
const sessionIndexArn = { 'Fn::Join': ['', [tableArn, `/index/${SessionIndex.name}`]] };

describe('LeaseTable', () => {
  it('builds the table from the schema: key, sparse reaper and session indexes with their projections', () => {
    const stack = testStack();
    new LeaseTable(stack, 'Leases');
    templateOf(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: LeaseAttribute.name, KeyType: 'HASH' }],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: LeaseAttribute.name, AttributeType: 'S' },
        { AttributeName: ReaperIndex.partitionKey, AttributeType: 'N' },
        { AttributeName: ReaperIndex.sortKey, AttributeType: 'N' },
        { AttributeName: SessionIndex.partitionKey, AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: ReaperIndex.name,
          KeySchema: [
            { AttributeName: ReaperIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: ReaperIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...ReaperIndex.projectedAttributes] },
        },
        {
          IndexName: SessionIndex.name,
          KeySchema: [
            { AttributeName: SessionIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: SessionIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...SessionIndex.projectedAttributes] },
        },
      ],
    });
  });

  it('defines each attribute once: the session index sorts by the table key, name, a string', () => {
    const stack = testStack();
    new LeaseTable(stack, 'Leases');
    const [table] = Object.values(templateOf(stack).findResources('AWS::DynamoDB::Table'));
    const definitions = (table!.Properties as { AttributeDefinitions: { AttributeName: string; AttributeType: string }[] }).AttributeDefinitions;
    expect(definitions).toHaveLength(new Set(definitions.map((d) => d.AttributeName)).size);
    expect(definitions).toContainEqual({ AttributeName: SessionIndex.sortKey, AttributeType: 'S' });
  });

  it('defaults to on-demand, point-in-time recovery, deletion protection, retention and an AWS owned key, no stream', () => {
    const stack = testStack();
    new LeaseTable(stack, 'Leases');
    const template = templateOf(stack);
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: false },
      StreamSpecification: Match.absent(),
      TableName: Match.absent(),
    });
  });

  it('takes a name, a removal policy, and turns protection and recovery off on request', () => {
    const stack = testStack();
    new LeaseTable(stack, 'Leases', {
      tableName: 'leases',
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      pointInTimeRecovery: false,
    });
    const template = templateOf(stack);
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'leases',
      DeletionProtectionEnabled: false,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
    });
  });

  it('encrypts with a customer-managed key when given one', () => {
    const stack = testStack();
    const key = new kms.Key(stack, 'Key');
    const leases = new LeaseTable(stack, 'Leases', { encryptionKey: key });
    expect(leases.encryptionKey).toBe(key);
    templateOf(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } },
    });
  });

  it('adds a stream for watchers on request', () => {
    const stack = testStack();
    const leases = new LeaseTable(stack, 'Leases', { stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES });
    expect(leases.tableStreamArn).toBeDefined();
    templateOf(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  it('exposes the reaper and session index ARNs', () => {
    const stack = testStack();
    const leases = new LeaseTable(stack, 'Leases');
    expect(stack.resolve(leases.reaperIndexArn)).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Leases[0-9A-F]{8}$/), 'Arn'] }, `/index/${ReaperIndex.name}`]],
    });
    expect(stack.resolve(leases.sessionIndexArn)).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Leases[0-9A-F]{8}$/), 'Arn'] }, `/index/${SessionIndex.name}`]],
    });
  });
});

describe('LeaseTable.grantAcquire', () => {
  it('grants the item actions a client needs on the table, and DescribeTable', () => {
    const stack = testStack();
    const leases = new LeaseTable(stack, 'Leases');
    const grant = leases.grantAcquire(worker(stack));
    expect(grant.success).toBe(true);
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
            Resource: tableArn,
          },
          { Effect: 'Allow', Action: 'dynamodb:DescribeTable', Resource: tableArn },
        ],
      },
    });
  });

  it('limits the item actions to lease names through dynamodb:LeadingKeys', () => {
    const stack = testStack();
    new LeaseTable(stack, 'Leases').grantAcquire(worker(stack), { names: ['billing-*', 'report-?'] });
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['billing-*', 'report-?'] } },
          }),
          { Effect: 'Allow', Action: 'dynamodb:DescribeTable', Resource: tableArn },
        ]),
      },
    });
  });

  it('adds encrypt and decrypt on a customer-managed key', () => {
    const stack = testStack();
    new LeaseTable(stack, 'Leases', { encryptionKey: new kms.Key(stack, 'Key') }).grantAcquire(worker(stack));
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['kms:Decrypt', 'kms:Encrypt']),
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
          }),
        ]),
      },
    });
  });

  it.each<[string, unknown, string]>([
    ['an empty name list', { names: [] }, 'GrantAcquireOptions.names: must list at least one name pattern; omit it for every name'],
    ['an empty pattern', { names: ['billing-*', ''] }, 'GrantAcquireOptions.names: patterns must be non-empty strings'],
    ['an unknown option', { name: 'billing' }, 'GrantAcquireOptions.name: unknown prop; expected one of names'],
  ])('refuses %s', (_case, options, message) => {
    const stack = testStack();
    const leases = new LeaseTable(stack, 'Leases');
    expect(() => leases.grantAcquire(worker(stack), options as { names: string[] })).toThrow(message);
  });
});

describe('LeaseTable.grantSessions', () => {
  const memberItemActions = ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem', 'dynamodb:BatchGetItem'];

  it("grants a holder's item actions and BatchGetItem on the table, DescribeTable, and Query on the session index only", () => {
    const stack = testStack();
    const grant = new LeaseTable(stack, 'Leases').grantSessions(worker(stack));
    expect(grant.success).toBe(true);
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: memberItemActions, Resource: tableArn },
          { Effect: 'Allow', Action: 'dynamodb:DescribeTable', Resource: tableArn },
          { Effect: 'Allow', Action: 'dynamodb:Query', Resource: sessionIndexArn },
        ],
      },
    });
  });

  it('limits the item actions to lease names, but not the index Query, whose key is the group', () => {
    const stack = testStack();
    new LeaseTable(stack, 'Leases').grantSessions(worker(stack), { names: ['session-*', 'shard-*'] });
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: memberItemActions,
            Resource: tableArn,
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['session-*', 'shard-*'] } },
          },
          { Effect: 'Allow', Action: 'dynamodb:DescribeTable', Resource: tableArn },
          { Effect: 'Allow', Action: 'dynamodb:Query', Resource: sessionIndexArn },
        ],
      },
    });
  });

  it('adds encrypt and decrypt on a customer-managed key', () => {
    const stack = testStack();
    new LeaseTable(stack, 'Leases', { encryptionKey: new kms.Key(stack, 'Key') }).grantSessions(worker(stack));
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['kms:Decrypt', 'kms:Encrypt']),
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
          }),
          { Effect: 'Allow', Action: 'dynamodb:Query', Resource: sessionIndexArn },
        ]),
      },
    });
  });

  it('leaves plain holders without BatchGetItem or the session index', () => {
    const stack = testStack();
    new LeaseTable(stack, 'Leases').grantAcquire(worker(stack));
    const policies = JSON.stringify(templateOf(stack).findResources('AWS::IAM::Policy'));
    expect(policies).toContain('dynamodb:ConditionCheckItem');
    expect(policies).not.toContain('dynamodb:BatchGetItem');
    expect(policies).not.toContain(SessionIndex.name);
  });

  it.each<[string, unknown, string]>([
    ['an empty name list', { names: [] }, 'GrantAcquireOptions.names: must list at least one name pattern; omit it for every name'],
    ['an unknown option', { groups: ['shards'] }, 'GrantAcquireOptions.groups: unknown prop; expected one of names'],
  ])('refuses %s, as grantAcquire does', (_case, options, message) => {
    const stack = testStack();
    const leases = new LeaseTable(stack, 'Leases');
    expect(() => leases.grantSessions(worker(stack), options as { names: string[] })).toThrow(message);
  });
});

describe('LeaseTable.grantObserve', () => {
  it('grants reads only, on the table and the reaper index', () => {
    const stack = testStack();
    new LeaseTable(stack, 'Leases').grantObserve(worker(stack));
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:DescribeTable'],
            Resource: [tableArn, { 'Fn::Join': ['', [tableArn, `/index/${ReaperIndex.name}`]] }],
          },
        ],
      },
    });
  });

  it('adds the stream reads when the table has a stream, and decrypt on a customer-managed key', () => {
    const stack = testStack();
    const leases = new LeaseTable(stack, 'Leases', {
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      encryptionKey: new kms.Key(stack, 'Key'),
    });
    leases.grantObserve(worker(stack));
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Leases[0-9A-F]{8}$'), 'StreamArn'] },
          },
          { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } },
        ]),
      },
    });
  });
});
