/**
 * `npm run deploy:local`: try a deploy without an AWS account. Starts moto_server on loopback,
 * then, with the real CDK CLI, bootstraps it, deploys the example app (bin/app.ts), lists what was
 * created, destroys the stack, shows that the lease table stayed (it is retained), and stops
 * moto. Nothing runs code: moto runs no Lambda functions.
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LOCAL_DEPLOY_CONTEXT } from '../../bin/example-stack.js';
import {
  describeLocalAccount,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  runCdk,
  startMoto,
  type LocalAws,
  type LocalDeployment,
} from './local-aws.js';

/** Synthesizes the example app once into `assemblyDir`, bootstraps the local account and deploys. */
export async function deployExample(aws: LocalAws, assemblyDir: string, log: (step: string) => void = () => {}): Promise<void> {
  log('cdk synth');
  await runCdk(['synth', '--quiet', '--output', assemblyDir, '--context', `${LOCAL_DEPLOY_CONTEXT}=true`], aws.env);
  log(`cdk bootstrap aws://${LOCAL_ACCOUNT}/${LOCAL_REGION}`);
  await runCdk(['bootstrap', `aws://${LOCAL_ACCOUNT}/${LOCAL_REGION}`, '--app', assemblyDir], aws.env);
  log('cdk deploy');
  // Direct CreateStack/UpdateStack: moto's change sets cannot update a stack.
  await runCdk(['deploy', '--app', assemblyDir, '--require-approval', 'never', '--method=direct'], aws.env);
}

/** Destroys the example stack deployed from `assemblyDir`. */
export async function destroyExample(aws: LocalAws, assemblyDir: string): Promise<void> {
  await runCdk(['destroy', '--app', assemblyDir, '--force'], aws.env);
}

function print(title: string, account: LocalDeployment): void {
  console.log(`\n${title}`);
  for (const table of account.tables) {
    const indexes = table.indexes.join(', ') || 'none';
    console.log(`  table     ${table.name} (indexes: ${indexes}; deletion protection: ${table.deletionProtection})`);
  }
  for (const rule of account.rules) console.log(`  rule      ${rule.name} ${rule.schedule ?? ''} -> ${rule.targets.join(', ')}`);
  for (const fn of account.functions) console.log(`  function  ${fn.name} (${fn.runtime})`);
}

async function main(): Promise<void> {
  // The SDK's notice about Node 20 would interleave with the listing.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const assemblyDir = mkdtempSync(join(tmpdir(), 'leasehold-deploy-'));
  console.log('Starting moto_server on loopback...');
  const aws = await startMoto();
  try {
    console.log(`moto answers at ${aws.endpoint}`);
    await deployExample(aws, assemblyDir, (step) => console.log(`$ npx ${step}`));
    print('Deployed:', await describeLocalAccount(aws));
    console.log('\n$ npx cdk destroy --force');
    await destroyExample(aws, assemblyDir);
    print('After cdk destroy (the lease table is retained):', await describeLocalAccount(aws));
  } finally {
    await aws.stop();
    rmSync(assemblyDir, { recursive: true, force: true });
    console.log('\nmoto_server stopped.');
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
