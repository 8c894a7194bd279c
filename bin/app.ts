/**
 * The example CDK app: `npx cdk synth` / `npx cdk deploy` from the repository root (cdk.json
 * points here). See `example-stack.ts` for what it deploys.
 */
import { App } from 'aws-cdk-lib';
import { buildExampleApp } from './example-stack.js';

const app = new App();
buildExampleApp(app);
app.synth();
