declare module 'dynalite' {
  import type { Server } from 'node:net';

  /** The options leasehold's harness uses; dynalite accepts more. */
  interface DynaliteOptions {
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    path?: string;
  }

  /** An HTTP server speaking DynamoDB's API; `listen` it like any Node server. */
  export default function dynalite(options?: DynaliteOptions): Server & { closeAllConnections?: () => void };
}
