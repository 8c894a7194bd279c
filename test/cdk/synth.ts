/**
 * Stacks for template tests: Lambda bundling and CloudFormation's built-in template validation
 * are off (they are what makes a synth slow, and neither is under test here), and every cloud
 * assembly goes to a temporary folder the test removes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, type StackProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { afterEach } from 'vitest';

const outdirs: string[] = [];

afterEach(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh app whose assembly is cleaned up after the test. */
export function testApp(): App {
  const outdir = mkdtempSync(join(tmpdir(), 'leasehold-cdk-'));
  outdirs.push(outdir);
  return new App({
    outdir,
    context: { 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
}

/** A fresh app and stack whose assembly is cleaned up after the test. */
export function testStack(props: StackProps = {}): Stack {
  return new Stack(testApp(), 'Test', props);
}

/** The stack's synthesized template. */
export function templateOf(stack: Stack): Template {
  return Template.fromStack(stack);
}

/**
 * What each of a construct's `metric…()` methods returns with no options: every metric it offers
 * for alarms and dashboards, found on its prototype so a method added later is included.
 */
export function metricsOf(construct: object): cloudwatch.Metric[] {
  const prototype = Object.getPrototypeOf(construct) as Record<string, unknown>;
  return Object.getOwnPropertyNames(prototype)
    .filter((name) => name.startsWith('metric') && typeof prototype[name] === 'function')
    .map((name) => (prototype[name] as () => cloudwatch.Metric).call(construct));
}
