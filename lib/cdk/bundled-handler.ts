/**
 * Where the constructs find the Lambda handlers that ship pre-bundled (one ES module file each,
 * the AWS SDK inside), so `cdk synth` needs neither esbuild nor Docker.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { LeaseholdError } from '../core/errors.js';

/**
 * What every pre-bundled leasehold function runs as: the bundle's entry, one runtime and one
 * architecture, chosen once for the reaper and the lease events function alike.
 */
export function bundledFunctionBasics(name: 'reaper' | 'lease-events', what: string): Pick<lambda.FunctionProps, 'code' | 'handler' | 'runtime' | 'architecture'> {
  return {
    code: lambda.Code.fromAsset(bundledHandler(name, what)),
    handler: 'index.handler',
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
  };
}

/** `given`, or a new queue (id `DeadLetterQueue`) encrypted with SQS-managed keys, kept 14 days. */
export function deadLetterQueueOf(scope: Construct, given: sqs.IQueue | undefined): sqs.IQueue {
  return (
    given ??
    new sqs.Queue(scope, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    })
  );
}

/**
 * The folder of the pre-bundled handler `name` (`index.mjs`): `dist/assets/<name>/` beside the
 * compiled constructs in the published package, or in this repository's `dist/` when run from
 * source (`npm run build` or `npx tsx harness/local/bundle-lambdas.ts` makes it). `what` names the
 * function in the error when it is missing.
 */
export function bundledHandler(name: 'reaper' | 'lease-events', what: string): string {
  const candidates = [`../../assets/${name}`, `../../dist/assets/${name}`].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((candidate) => existsSync(join(candidate, 'index.mjs')));
  if (found === undefined) {
    throw new LeaseholdError(`The ${what}'s bundled handler is missing: no index.mjs in ${candidates.join(' or ')}. Run \`npm run build\`.`);
  }
  return found;
}
