/**
 * A TCP proxy on loopback that breaks the network between one DynamoDB client and a local
 * DynamoDB server, below HTTP. The SDK middleware faults (`dev/faults.ts`) make a request fail
 * the moment they are told to; they cannot show what the SDK itself does when the wire misbehaves,
 * and that is where a client can hang for minutes: by default the DynamoDB client has no request
 * timeout and only a 300 s socket-inactivity timeout.
 *
 * The faults, and what each emulates:
 *
 * - {@link FaultProxy.blackhole}: a NAT, firewall or load balancer that forgets a connection and
 *   silently discards its packets. No RST, no FIN ever reaches the client: only its own timeout or
 *   abort ends the request. Bytes are read and discarded (not left unread) so the client's writes
 *   keep succeeding, as they do into a real blackhole until the kernel's retransmissions give up.
 *   New connections are blackholed too, but the proxy cannot refuse the TCP handshake (the kernel
 *   completes it before Node sees the socket), so a client's `connectionTimeout` does NOT fire
 *   here as it would for a real blackhole that drops SYNs: only request and socket timeouts do.
 * - {@link FaultProxy.reset}: a peer or middlebox that aborts connections (process crash, LB
 *   draining, `iptables -j REJECT --reject-with tcp-reset`). The client sees ECONNRESET at once.
 * - {@link FaultProxy.delay}: a slow path. Each chunk is held for the given time, in order.
 * - {@link FaultProxy.holdAnswers}: requests reach the server and are executed, their answers are
 *   late (a congested or stalled return path). Nothing is lost: {@link FaultProxy.heal} delivers
 *   them. This is the wire-level form of "the write landed, the caller does not know yet".
 *
 * Healing does not revive a blackholed connection: after a real blackhole the middlebox's state
 * for it is gone, so a client that reuses such a socket (a keep-alive socket idle in its pool)
 * keeps talking into the void until its own timeout. Keeping that behaviour is the point: it is
 * exactly the hang the proxy exists to expose. Only connections accepted after the heal work.
 *
 * The proxy emulates the client's view only. When the client gives up on a blackholed connection
 * the proxy closes its upstream side (a real server would notice only by its own idle timeout);
 * DynamoDB servers do not care, and it keeps the proxy from leaking sockets.
 *
 * Flow control is ignored (chunks are buffered in memory without pausing the source): fine for
 * test-sized traffic, not a general-purpose proxy. It listens on 127.0.0.1 only and connects to
 * nothing but its loopback target. Not part of the published library.
 *
 * @module
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** What the proxy has done so far. A test asserts on these: a fault that never fired proves nothing. */
export interface FaultProxyStats {
  /** Client connections accepted, ever. */
  readonly connectionsAccepted: number;
  /** Client connections not yet closed (blackholed ones included). */
  readonly connectionsOpen: number;
  /** Connections blackholed, ever (open ones when `blackhole()` was called, and new ones while set). */
  readonly connectionsBlackholed: number;
  /** Connections reset (RST sent to the client), ever. */
  readonly connectionsReset: number;
  /** Bytes delivered to the server. */
  readonly bytesToServer: number;
  /** Bytes delivered to the client. */
  readonly bytesToClient: number;
  /** Bytes discarded, either way: blackholed, or queued on a connection that was reset or blackholed. */
  readonly bytesDropped: number;
  /** Server → client bytes held back right now, awaiting `heal()`. */
  readonly bytesHeld: number;
}

/** A running proxy. Faults apply from the call on; the last of blackhole/reset/holdAnswers/heal wins. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`, the endpoint to give a `DynamoDBClient`. */
  readonly endpoint: string;
  /** Silently drop every byte both ways on existing and new connections: no RST, no FIN. */
  blackhole(): void;
  /** Reset (RST) every open connection now, and every new one while set. */
  reset(): void;
  /** Delay each chunk by this many ms from its arrival, both ways, order kept (0: none). Stays across fault changes except `heal()`. */
  delay(ms: number): void;
  /** Hold answers (server → client bytes) back; requests still reach the server. */
  holdAnswers(): void;
  /**
   * Back to forwarding normally, with no delay. Held answers are delivered now. Blackholed
   * connections stay dead (see the module notes); new connections work.
   */
  heal(): void;
  /** A snapshot of the counters. */
  readonly stats: FaultProxyStats;
  /** Destroys every socket and the listener. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Port to listen on, on 127.0.0.1. @default 0 (the OS picks a free one, with no race) */
  readonly port?: number;
}

type Mode = 'forward' | 'blackhole' | 'reset' | 'hold';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Starts a proxy in front of `target` (`http://127.0.0.1:<port>`, a local DynamoDB endpoint),
 * forwarding normally until a fault is set.
 */
export async function startFaultProxy(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const url = new URL(target);
  // A test tool that could be pointed at a real AWS endpoint would be a footgun: loopback only.
  if (!LOOPBACK.has(url.hostname)) throw new Error(`startFaultProxy: target must be on loopback, got ${target}`);
  const targetHost = url.hostname === '[::1]' ? '::1' : url.hostname;
  const targetPort = Number(url.port || 80);

  const counts = {
    connectionsAccepted: 0,
    connectionsBlackholed: 0,
    connectionsReset: 0,
    bytesToServer: 0,
    bytesToClient: 0,
    bytesDropped: 0,
  };
  let mode: Mode = 'forward';
  let delayMs = 0;
  let closed = false;
  // `pairs`: connections whose client is still there (faults apply to these); `sockets`: every
  // socket not yet closed, so that close() leaves nothing behind to keep the process alive.
  const pairs = new Set<Pair>();
  const sockets = new Set<Socket>();
  const lanes = new Set<Lane>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    // Errors are expected (that is what this tool is for); a missing listener would crash the run.
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  };

  /** One direction of a connection: chunks wait here for their delay, or for `heal()` when held. */
  class Lane {
    private readonly queue: Array<{ due: number; item: Buffer | 'end' | 'destroy' }> = [];
    private timer: NodeJS.Timeout | undefined;

    constructor(
      private readonly to: () => Socket | undefined,
      private readonly held: () => boolean,
      private readonly delivered: (bytes: number) => void,
    ) {}

    push(item: Buffer | 'end' | 'destroy'): void {
      this.queue.push({ due: Date.now() + delayMs, item });
      this.pump();
    }

    get heldBytes(): number {
      return this.held() ? this.queuedBytes() : 0;
    }

    /** Discards everything queued; returns the bytes discarded. */
    clear(): number {
      const bytes = this.queuedBytes();
      this.queue.length = 0;
      clearTimeout(this.timer);
      this.timer = undefined;
      return bytes;
    }

    pump(): void {
      if (this.timer !== undefined || this.held()) return;
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        const wait = head.due - Date.now();
        if (wait > 0) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.pump();
          }, wait);
          return;
        }
        this.queue.shift();
        const socket = this.to();
        if (socket === undefined || socket.destroyed) continue;
        if (head.item === 'end') socket.end();
        else if (head.item === 'destroy') socket.destroy();
        else {
          socket.write(head.item);
          this.delivered(head.item.length);
        }
      }
    }

    private queuedBytes(): number {
      return this.queue.reduce((sum, { item }) => sum + (Buffer.isBuffer(item) ? item.length : 0), 0);
    }
  }

  interface Pair {
    readonly client: Socket;
    upstream: Socket | undefined;
    dead: boolean;
    readonly toServer: Lane;
    readonly toClient: Lane;
  }

  const forget = (pair: Pair) => {
    if (pair.client.destroyed && (pair.upstream === undefined || pair.upstream.destroyed)) {
      lanes.delete(pair.toServer);
      lanes.delete(pair.toClient);
    }
  };

  const killSilently = (pair: Pair) => {
    if (pair.dead) return;
    pair.dead = true;
    counts.connectionsBlackholed++;
    counts.bytesDropped += pair.toServer.clear() + pair.toClient.clear();
  };

  const resetPair = (pair: Pair) => {
    counts.bytesDropped += pair.toServer.clear() + pair.toClient.clear();
    pair.dead = true;
    if (!pair.client.destroyed) {
      counts.connectionsReset++;
      pair.client.resetAndDestroy();
    }
    if (pair.upstream !== undefined && !pair.upstream.destroyed) pair.upstream.resetAndDestroy();
  };

  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    counts.connectionsAccepted++;
    track(client);
    if (closed) {
      client.destroy();
      return;
    }
    const pair: Pair = {
      client,
      upstream: undefined,
      dead: false,
      toServer: new Lane(
        () => pair.upstream,
        () => false,
        (n) => (counts.bytesToServer += n),
      ),
      toClient: new Lane(
        () => client,
        () => mode === 'hold',
        (n) => (counts.bytesToClient += n),
      ),
    };
    pairs.add(pair);
    lanes.add(pair.toServer).add(pair.toClient);
    client.on('close', () => {
      pairs.delete(pair);
      forget(pair);
      // Nothing is owed to a client that is gone; a live pair lets queued request bytes go first.
      if (pair.dead) pair.upstream?.destroy();
      else pair.toServer.push('destroy');
    });

    if (mode === 'reset') {
      resetPair(pair);
      return;
    }
    if (mode === 'blackhole') killSilently(pair);

    client.on('data', (chunk: Buffer) => {
      if (pair.dead) counts.bytesDropped += chunk.length;
      else pair.toServer.push(chunk);
    });
    client.on('end', () => {
      if (!pair.dead) pair.toServer.push('end');
      // A client that hangs up on a dead connection has given up on it; half-open, it would never
      // close and close() would be the only way out. No HTTP client reads after its own FIN.
      else client.destroy();
    });
    // A connection born blackholed never reaches the server: nothing it sends would get there.
    if (pair.dead) return;

    const upstream = connect({ host: targetHost, port: targetPort, allowHalfOpen: true });
    pair.upstream = upstream;
    track(upstream);
    upstream.once('close', () => forget(pair));
    upstream.on('data', (chunk: Buffer) => {
      if (pair.dead) counts.bytesDropped += chunk.length;
      else pair.toClient.push(chunk);
    });
    upstream.on('end', () => {
      if (!pair.dead) pair.toClient.push('end');
    });
    upstream.on('close', (hadError) => {
      // A blackholed client must hear nothing, not even that the server went away.
      if (pair.dead) return;
      // An upstream that died (refused, reset) is passed on as a reset: what was queued is lost, as it
      // would be behind a real server's RST.
      if (hadError && !upstream.readableEnded) {
        counts.bytesDropped += pair.toClient.clear();
        resetPair(pair);
      } else pair.toClient.push('destroy');
    });
  });

  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('startFaultProxy: no TCP port');
  const endpoint = `http://127.0.0.1:${address.port}`;

  return {
    endpoint,
    blackhole() {
      mode = 'blackhole';
      for (const pair of pairs) killSilently(pair);
    },
    reset() {
      mode = 'reset';
      for (const pair of [...pairs]) resetPair(pair);
    },
    delay(ms: number) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay: ${ms} ms`);
      delayMs = ms;
    },
    holdAnswers() {
      mode = 'hold';
    },
    heal() {
      mode = 'forward';
      delayMs = 0;
      for (const pair of pairs) pair.toClient.pump();
    },
    get stats(): FaultProxyStats {
      let bytesHeld = 0;
      for (const pair of pairs) bytesHeld += pair.toClient.heldBytes;
      return { ...counts, connectionsOpen: pairs.size, bytesHeld };
    },
    async close() {
      if (closed) return;
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const lane of lanes) lane.clear();
      for (const socket of sockets) socket.destroy();
      lanes.clear();
      pairs.clear();
      await stopped;
    },
  };
}
