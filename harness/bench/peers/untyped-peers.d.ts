/** The part of `dynamodb-lock-client` 0.7.3 (untyped, callback API) the benchmarks use. */
declare module 'dynamodb-lock-client' {
  import type { EventEmitter } from 'node:events';

  type Callback<T> = (error: Error | null | undefined, result?: T) => void;

  /** Any object with DocumentClient-style `get`, `put` and `delete` taking callbacks. */
  export interface DocumentClientLike {
    get(params: Record<string, unknown>, callback: Callback<Record<string, unknown>>): unknown;
    put(params: Record<string, unknown>, callback: Callback<Record<string, unknown>>): unknown;
    delete(params: Record<string, unknown>, callback: Callback<Record<string, unknown>>): unknown;
  }

  export interface Lock extends EventEmitter {
    readonly fencingToken: number;
    release(callback: Callback<void>): void;
  }

  export class FailOpen {
    constructor(config: {
      dynamodb: DocumentClientLike;
      lockTable: string;
      partitionKey: string;
      heartbeatPeriodMs?: number;
      leaseDurationMs: number;
      owner?: string;
      retryCount?: number;
      trustLocalTime?: boolean;
    });
    acquireLock(id: string, callback: Callback<Lock>): void;
  }
}
