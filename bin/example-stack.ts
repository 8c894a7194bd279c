/**
 * The example stack `bin/app.ts` deploys: a `LeaderElection` and one singleton Lambda function
 * that uses it, with the cdk-nag findings this stack accepts and why.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { CfnOutput, DefaultStackSynthesizer, Duration, Stack, Validations, type App, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { LeaderElection } from '../lib/cdk/index.js';

/** The example stack's name, as `cdk deploy` and CloudFormation show it. */
export const EXAMPLE_STACK_NAME = 'LeaseholdExample';

/** The lease names the example function may take. */
export const EXAMPLE_LEASE_NAMES = ['example-*'];

/** A leader-election deployment with one singleton function, as a user would write it. */
export class ExampleStack extends Stack {
  readonly election: LeaderElection;
  readonly singletonFunction: lambda.IFunction;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.election = new LeaderElection(this, 'Election');

    const logGroup = new logs.LogGroup(this, 'SingletonLogs', { retention: logs.RetentionDays.ONE_MONTH });
    const role = new iam.Role(this, 'SingletonRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    this.singletonFunction = new NodejsFunction(this, 'Singleton', {
      entry: fileURLToPath(new URL('../lambda/example-singleton.ts', import.meta.url)),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(60),
      role,
      logGroup,
      environment: { LEASEHOLD_TABLE_NAME: this.election.leaseTable.tableName },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        bundleAwsSDK: true,
        mainFields: ['module', 'main'],
        banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    this.election.grantAcquire(this.singletonFunction, { names: EXAMPLE_LEASE_NAMES });
    new events.Rule(this, 'SingletonSchedule', {
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(this.singletonFunction, { retryAttempts: 0 })],
    });

    new CfnOutput(this, 'LeaseTableName', { value: this.election.leaseTable.tableName });
    new CfnOutput(this, 'ReaperFunctionName', { value: this.election.reaper.function.functionName });
    new CfnOutput(this, 'SingletonFunctionName', { value: this.singletonFunction.functionName });
    acknowledgeNagFindings(this);
  }
}

/**
 * Context key set by `npm run deploy:local` (`-c leasehold:local=true`): the stack then goes to
 * moto_server, whose CloudFormation cannot update a stack that has the bootstrap-version check.
 */
export const LOCAL_DEPLOY_CONTEXT = 'leasehold:local';

/**
 * Adds the example stack to `app`, with cdk-nag's AwsSolutions checks on every synth, so a new
 * finding fails `cdk synth` until it is fixed or acknowledged below with a reason.
 */
export function buildExampleApp(app: App): ExampleStack {
  const local = String(app.node.tryGetContext(LOCAL_DEPLOY_CONTEXT)) === 'true';
  const stack = new ExampleStack(app, EXAMPLE_STACK_NAME, {
    description: 'leasehold example: leader election table, reaper, alarms and a singleton Lambda function',
    synthesizer: local ? new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }) : undefined,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}

/** The cdk-nag AwsSolutions findings this stack accepts, each with its reason. */
function acknowledgeNagFindings(stack: ExampleStack): void {
  Validations.of(stack.election.reaper.deadLetterQueue).acknowledge({
    id: 'AwsSolutions::AwsSolutions-SQS3',
    reason:
      "This queue is the dead-letter queue of the reaper's schedule target (EventBridge DeadLetterConfig), " +
      'a use cdk-nag does not recognise; a dead-letter queue of its own would only move undelivered ticks again.',
  });
  const functions = [stack.election.reaper.function, stack.singletonFunction];
  for (const fn of functions) {
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason: 'Node.js 22 is the runtime leasehold targets and tests against; newer runtimes are adopted deliberately.',
    });
  }
}
