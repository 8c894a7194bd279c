/**
 * A local AWS to deploy the example app to: moto_server on loopback, driven by the real CDK CLI
 * (the repository's own `aws-cdk` devDependency). Used by `npm run deploy:local` and the deploy
 * test. Not part of the published library.
 *
 * moto's quirks, measured (see ../shared/TOOLCHAIN.md): its S3 resolves the asset bucket only for
 * the host name `localhost`; its CloudFormation updates a stack only with `--method=direct` and
 * without the bootstrap-version rule; it runs no Lambda code and creates no CloudWatch alarms.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { freePort } from '../../lib/testing/local-dynamodb.js';

/** The account and Region moto answers as. */
export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_REGION = 'us-east-1';

/** The repository root, where cdk.json is. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A running moto_server. */
export interface LocalAws {
  /** `http://localhost:<port>`: the form moto's S3 needs for path-style bucket URLs. */
  readonly endpoint: string;
  /** Environment for the CDK CLI and AWS SDKs: only the endpoint, fake credentials and Region. */
  readonly env: NodeJS.ProcessEnv;
  /** AWS SDK client settings for the same endpoint. */
  readonly clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
// A run that dies must not leave moto or a CDK CLI behind.
process.on('exit', () => {
  for (const child of children) killGroup(child, 'SIGKILL');
});

/** Starts moto_server on a free loopback port and resolves once it answers. */
export async function startMoto(): Promise<LocalAws> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
  const exited = once(child, 'exit');
  const stop = async () => {
    children.delete(child);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(killer);
  };
  const endpoint = `http://localhost:${port}`;
  try {
    await waitUntilAnswering(`http://127.0.0.1:${port}/moto-api/`, 20_000, () => child.exitCode !== null);
  } catch (error) {
    await stop();
    throw new Error(`moto_server did not start on port ${port}: ${(error as Error).message}\n${output}`);
  }
  const credentials = { accessKeyId: 'leasehold', secretAccessKey: 'leasehold' };
  return {
    endpoint,
    env: localAwsEnv(endpoint, credentials),
    clientConfig: { endpoint, region: LOCAL_REGION, credentials },
    stop,
  };
}

/**
 * The caller's environment without any AWS setting (profile, keys, per-service endpoints), plus
 * the local endpoint and fake credentials: nothing here can reach a real account.
 */
function localAwsEnv(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && !key.startsWith('CDK_')));
  return {
    ...env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CDK_DISABLE_VERSION_CHECK: '1',
  };
}

/**
 * Runs the repository's CDK CLI (`npx --no`: never downloads one) in the repository root and
 * resolves with its output; rejects with the output's tail if it fails or outlasts `timeoutMs`.
 */
export async function runCdk(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<string> {
  // Its own process group, so a timeout ends npx, the CLI and the app it runs together.
  const child = spawn('npx', ['--no', 'cdk', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  children.delete(child);
  if (code !== 0) {
    const why = signal ? `was killed (${signal}) after ${timeoutMs} ms` : `exited with ${code}`;
    throw new Error(`cdk ${args.join(' ')} ${why}:\n${output.slice(-4_000)}`);
  }
  return output;
}

/** What a deployment of the example app left in the local account. */
export interface LocalDeployment {
  readonly tables: { name: string; indexes: string[]; deletionProtection: boolean }[];
  readonly rules: { name: string; schedule: string | undefined; targets: string[] }[];
  readonly functions: { name: string; arn: string; runtime: string; environment: Record<string, string> }[];
}

/** Lists the tables, rules (with targets) and functions in the local account. */
export async function describeLocalAccount(aws: LocalAws): Promise<LocalDeployment> {
  const dynamodb = new DynamoDBClient(aws.clientConfig);
  const events = new EventBridgeClient(aws.clientConfig);
  try {
    const tableNames = (await dynamodb.send(new ListTablesCommand({}))).TableNames ?? [];
    const tables = await Promise.all(
      tableNames.map(async (name) => {
        const { Table: table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
        const indexes = (table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName ?? '');
        return { name, indexes, deletionProtection: table?.DeletionProtectionEnabled === true };
      }),
    );
    const rules = await Promise.all(
      ((await events.send(new ListRulesCommand({}))).Rules ?? []).map(async (rule) => {
        const { Targets: targets = [] } = await events.send(new ListTargetsByRuleCommand({ Rule: rule.Name }));
        return { name: rule.Name ?? '', schedule: rule.ScheduleExpression, targets: targets.map((t) => t.Arn ?? '') };
      }),
    );
    return { tables, rules, functions: await listFunctions(aws) };
  } finally {
    dynamodb.destroy();
    events.destroy();
  }
}

interface LambdaFunctionConfiguration {
  FunctionName: string;
  FunctionArn: string;
  Runtime: string;
  Environment?: { Variables?: Record<string, string> };
}

/**
 * Lambda's `ListFunctions` REST call (the project has no Lambda SDK client). moto checks no
 * signature; it routes by the credential scope's service name, so the header names `lambda`.
 */
async function listFunctions(aws: LocalAws): Promise<LocalDeployment['functions']> {
  const scope = `${aws.clientConfig.credentials.accessKeyId}/20240101/${LOCAL_REGION}/lambda/aws4_request`;
  const response = await fetch(`${aws.endpoint}/2015-03-31/functions/`, {
    headers: { Authorization: `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host, Signature=unsigned` },
  });
  if (!response.ok) throw new Error(`ListFunctions answered ${response.status}: ${await response.text()}`);
  const { Functions: functions } = (await response.json()) as { Functions: LambdaFunctionConfiguration[] };
  return functions.map((fn) => ({
    name: fn.FunctionName,
    arn: fn.FunctionArn,
    runtime: fn.Runtime,
    environment: fn.Environment?.Variables ?? {},
  }));
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

async function waitUntilAnswering(url: string, timeoutMs: number, died: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (died()) throw new Error('the process exited');
    if (Date.now() > deadline) throw new Error(`no answer within ${timeoutMs} ms`);
    await delay(100);
  }
}
