import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { LeaderElection, type LeaderElectionProps } from '../../lib/cdk/index.js';
import { templateOf, testStack } from './synth.js';

const tableRef = { Ref: Match.stringLikeRegexp('^ElectionTable[0-9A-F]{8}$') };

describe('LeaderElection', () => {
  it('deploys a lease table, its reaper and four alarms', () => {
    const stack = testStack();
    new LeaderElection(stack, 'Election');
    const template = templateOf(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LEASEHOLD_TABLE_NAME: tableRef }) },
    });
  });

  it('passes table and reaper props through', () => {
    const stack = testStack();
    new LeaderElection(stack, 'Election', {
      table: { tableName: 'leases', removalPolicy: RemovalPolicy.DESTROY },
      reaper: { schedule: events.Schedule.rate(Duration.minutes(2)), skew: Duration.seconds(3) },
    });
    const template = templateOf(stack);
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ TableName: 'leases' }) });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(2 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LEASEHOLD_SKEW_MS: '3000' }) },
    });
  });

  it('alarms when the reaper fails in 3 of 5 minutes', () => {
    const stack = testStack();
    new LeaderElection(stack, 'Election');
    templateOf(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when a lease is reaped, and when a name went leaderless for 3 minutes', () => {
    const stack = testStack();
    new LeaderElection(stack, 'Election');
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Leasehold',
      MetricName: 'LeasesReaped',
      Dimensions: [{ Name: 'service', Value: tableRef }],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Leasehold',
      MetricName: 'LeaderlessMs',
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 180_000,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when a Lease Expired event could not be published', () => {
    const stack = testStack();
    new LeaderElection(stack, 'Election');
    templateOf(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Leasehold',
      MetricName: 'ReapEventsFailed',
      Dimensions: [{ Name: 'service', Value: tableRef }],
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('takes alarm thresholds and actions for every alarm', () => {
    const stack = testStack();
    const topic = new sns.Topic(stack, 'Pager');
    new LeaderElection(stack, 'Election', {
      leasesReapedThreshold: 5,
      leaderlessThreshold: Duration.minutes(10),
      alarmActions: [new actions.SnsAction(topic)],
    });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'LeasesReaped', Threshold: 5 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'LeaderlessMs', Threshold: 600_000 });
    const alarms = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { AlarmActions: [{ Ref: Match.stringLikeRegexp('^Pager') }] },
    });
    expect(Object.keys(alarms)).toHaveLength(4);
  });

  it('grants acquire and observe on its table', () => {
    const stack = testStack();
    const election = new LeaderElection(stack, 'Election');
    const worker = new iam.Role(stack, 'Worker', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    const watcher = new iam.Role(stack, 'Watcher', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    election.grantAcquire(worker, { names: ['billing-*'] });
    election.grantObserve(watcher);
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Worker') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['billing-*'] } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Watcher') }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: Match.arrayWith(['dynamodb:Query', 'dynamodb:Scan']) })] },
    });
  });

  it('grants a lease group member the session index through its table', () => {
    const stack = testStack();
    const election = new LeaderElection(stack, 'Election');
    const member = new iam.Role(stack, 'Member', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    election.grantSessions(member, { names: ['shards#*'] });
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Member') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'dynamodb:Query', Resource: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['/index/leasehold-sessions'])]) }) }),
        ]),
      },
    });
  });

  it('offers the reaper metrics, with the documented statistics and periods', () => {
    const stack = testStack();
    const election = new LeaderElection(stack, 'Election');
    expect(election.metricReaperErrors()).toMatchObject({ metricName: 'Errors', statistic: cloudwatch.Stats.SUM });
    expect(election.metricReaperErrors().period.toMinutes()).toBe(5);
    expect(election.metricLeasesReaped()).toMatchObject({ metricName: 'LeasesReaped', statistic: cloudwatch.Stats.SUM });
    expect(election.metricLeasesReaped().period.toMinutes()).toBe(1);
    expect(election.metricLeaderlessMs()).toMatchObject({ metricName: 'LeaderlessMs', statistic: cloudwatch.Stats.MAXIMUM });
    expect(election.metricLeaderlessMs().period.toMinutes()).toBe(1);
    expect(election.metricEventsFailed()).toMatchObject({ metricName: 'ReapEventsFailed', statistic: cloudwatch.Stats.SUM });
    expect(election.metricEventsFailed().period.toMinutes()).toBe(1);
  });

  it.each<[string, LeaderElectionProps, string]>([
    [
      'an unknown prop',
      { alarms: false } as LeaderElectionProps,
      'LeaderElectionProps.alarms: unknown prop; expected one of table, reaper, leasesReapedThreshold, leaderlessThreshold, alarmActions',
    ],
    ['a zero reaped threshold', { leasesReapedThreshold: 0 }, 'LeaderElectionProps.leasesReapedThreshold: must be between 1 and'],
    [
      'a zero leaderless threshold',
      { leaderlessThreshold: Duration.seconds(0) },
      'LeaderElectionProps.leaderlessThreshold: must be longer than zero',
    ],
    [
      'a bad table prop',
      { table: { witnessRegion: 'us-west-2' } },
      'LeaseTableProps.witnessRegion: applies only to a multi-Region table; set replicaRegions too',
    ],
    ['a bad reaper prop', { reaper: { retryAttempts: -1 } }, 'LeaseReaperProps.retryAttempts: must be between 0 and 185, got -1'],
  ])('refuses %s, naming the prop', (_case, props, message) => {
    const stack = testStack();
    expect(() => new LeaderElection(stack, 'Election', props)).toThrow(message);
  });
});
