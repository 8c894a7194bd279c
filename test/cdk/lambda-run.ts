/**
 * Running a bundled handler from the cloud assembly in-process, as Lambda would: with the
 * synthesized environment set, a Lambda context whose deadline is real, and stdout captured, where
 * Powertools writes its logs and its embedded-metric-format documents.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../harness/local/local-aws.js';

/** A Lambda context named `functionName` with `remainingMs` left before its deadline. */
export function lambdaContext(remainingMs: number, functionName = 'leasehold-reaper'): Context {
  const deadline = performance.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - performance.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Runs `fn` with `env` set and stdout captured; restores both. */
export async function withEnvironment<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<{ result: T; stdout: string }> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  const write = process.stdout.write.bind(process.stdout);
  let stdout = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    return { result: await fn(), stdout };
  } finally {
    process.stdout.write = write;
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** An embedded-metric-format document: metric and dimension values are top-level keys. */
export interface EmfDocument {
  readonly _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  readonly [key: string]: unknown;
}

/** The embedded-metric-format documents in captured output. */
export function emfDocuments(stdout: string): EmfDocument[] {
  return stdout
    .split('\n')
    .filter((line) => line.includes('"CloudWatchMetrics"'))
    .map((line) => JSON.parse(line.slice(line.indexOf('{'))));
}

/** Every metric name and namespace the captured output emits, each once. */
export function emittedMetrics(stdout: string): { names: string[]; namespaces: string[] } {
  const sets = emfDocuments(stdout).flatMap((doc) => doc._aws.CloudWatchMetrics);
  return {
    names: [...new Set(sets.flatMap((set) => set.Metrics.map((metric) => metric.Name)))].sort(),
    namespaces: [...new Set(sets.map((set) => set.Namespace))],
  };
}
