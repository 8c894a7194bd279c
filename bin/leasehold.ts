#!/usr/bin/env node
/**
 * `leasehold`: the command line (see `cli/main.ts` for what it prints and its exit codes).
 */

// The AWS SDK prints a multi-line notice about Node versions on every run unless this is set
// before it is loaded, so everything that imports it comes in below; a user's own setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = await import('../cli/main.js');
await main(process.argv);
