/**
 * The example app as `cdk synth` builds it: cdk-nag's AwsSolutions checks pass with the findings
 * it acknowledges (each with a reason), and cfn-lint finds no error in its template.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterEach, describe, expect, it } from 'vitest';
import { buildExampleApp, EXAMPLE_STACK_NAME } from '../../bin/example-stack.js';
import { LeaderElection } from '../../lib/cdk/index.js';

const outdirs: string[] = [];
afterEach(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * An app like the CLI's, minus Lambda bundling and aws-cdk-lib's own template validation (the
 * checks read templates, not code, and cfn-lint validates the template more thoroughly).
 */
function testApp(): App {
  const outdir = mkdtempSync(join(tmpdir(), 'leasehold-app-'));
  outdirs.push(outdir);
  return new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
}

interface ValidationReport {
  pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
}

/** Every acknowledged rule in the app, as `Validations.acknowledge` records it: `{ [id]: reason }`. */
function acknowledgments(app: App): { id: string; reason: string }[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .map(([id, reason]) => ({ id, reason })),
  );
}

describe('the example app', () => {
  it('passes the cdk-nag AwsSolutions checks', () => {
    const app = testApp();
    buildExampleApp(app);
    expect(() => app.synth()).not.toThrow();
  });

  it('acknowledges only findings LeaderElection really raises, each with a reason', () => {
    const app = testApp();
    buildExampleApp(app);
    const acknowledged = acknowledgments(app);
    for (const { reason } of acknowledged) expect(reason.length).toBeGreaterThan(40);
    expect(new Set(acknowledged.map((a) => a.id))).toEqual(new Set(['AwsSolutions::AwsSolutions-L1', 'AwsSolutions::AwsSolutions-SQS3']));

    // The same construct without the acknowledgments: exactly those findings come back.
    const bare = testApp();
    new LeaderElection(new Stack(bare, 'Bare'), 'Election');
    Validations.of(bare).addPlugins(new AwsSolutionsChecks(bare));
    expect(() => bare.synth()).toThrow(/AwsSolutions/);
    const report = JSON.parse(readFileSync(join(bare.outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
    const findings = report.pluginReports.flatMap((plugin) => plugin.violations.map((v) => v.ruleName));
    expect(new Set(findings)).toEqual(new Set(['AwsSolutions-L1', 'AwsSolutions-SQS3']));
  });

  const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  // cfn-lint is a Python tool, not an npm dependency; CI machines have it preinstalled.
  it.skipIf(cfnLint.status !== 0)('has a template cfn-lint finds no error in', () => {
    const app = testApp();
    buildExampleApp(app);
    const template = app.synth().getStackByName(EXAMPLE_STACK_NAME).templateFullPath;
    const lint = spawnSync('cfn-lint', ['--format', 'json', template], { encoding: 'utf8' });
    // 0: clean; 4: warnings only (CDK templates raise W3005, a DependsOn that a GetAtt already implies).
    expect([0, 4], lint.stderr).toContain(lint.status);
    const findings = JSON.parse(lint.stdout || '[]') as { Level: string; Rule: { Id: string }; Message: string }[];
    expect(findings.filter((finding) => finding.Level === 'Error')).toEqual([]);
  });
});
