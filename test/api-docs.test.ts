/**
 * The API reference (`npm run docs`, TypeDoc from the TSDoc in lib/) builds without a warning:
 * every `{@link}` resolves, every type the public API names is documented with it, and every
 * public declaration and member (interface fields and class properties included) has TSDoc of
 * its own (`validation.notDocumented` in typedoc.json).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('the API reference', () => {
  it('builds from the TSDoc with no broken link, no public type left out and every public member documented', () => {
    const typedoc = spawnSync(process.execPath, ['node_modules/typedoc/bin/typedoc', '--emit', 'none'], { encoding: 'utf8' });
    expect(typedoc.stdout + typedoc.stderr).not.toMatch(/warning|error/i);
    expect(typedoc.status).toBe(0);
  }, 120_000);
});
