/** Heartbeats: a ping every interval, and a dead-socket verdict when its pong is late. */

/** Heartbeat settings. */
export interface HeartbeatOptions {
  /** Time between pings (default 25 s). */
  intervalMs?: number;
  /** How long a pong may take before the socket is declared dead (default 10 s). */
  timeoutMs?: number;
}

/** Sends pings through `send` and calls `onDead` when a pong does not come back in time. */
export class Heartbeat {
  private interval: ReturnType<typeof setInterval> | undefined;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private sentAt = 0;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly send: () => void,
    private readonly onDead: () => void,
    options: HeartbeatOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 25_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Starts pinging (stops a previous run first). */
  start(): void {
    this.stop();
    this.interval = setInterval(() => this.ping(), this.intervalMs);
  }

  /** Stops pinging and forgets an outstanding ping. */
  stop(): void {
    if (this.interval !== undefined) clearInterval(this.interval);
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    this.interval = undefined;
    this.deadline = undefined;
  }

  /** Records a pong; returns the round trip of the outstanding ping in ms, if one was waiting. */
  pong(): number | undefined {
    if (this.deadline === undefined) return undefined;
    clearTimeout(this.deadline);
    this.deadline = undefined;
    return Date.now() - this.sentAt;
  }

  private ping(): void {
    if (this.deadline !== undefined) return; // still waiting for the previous pong
    this.sentAt = Date.now();
    this.deadline = setTimeout(() => {
      this.stop();
      this.onDead();
    }, this.timeoutMs);
    this.send();
  }
}
