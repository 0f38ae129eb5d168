import type { TimelineEvent } from '../engine/types.ts';
import { InvalidOperationError } from '../errors.ts';
import type { Core } from '../incidents/core.ts';
import type { Logger } from '../logger.ts';
import type { FollowHandle } from '../store/progress.ts';

/**
 * Follows the global events stream (via the progress hub) from `start` on and records each event,
 * one after another; when following fails it follows again from the last event seen, after
 * `restartDelayMs`. The stream holds the events of every worker process on this Redis.
 */
export class EventFeed {
  private cursor = '0';
  private handle: FollowHandle | null = null;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | null = null;
  /** Recorded one after another, so `stop` can wait for the last one. */
  private recorded: Promise<void> = Promise.resolve();
  private readonly progress: Core['progress'];

  constructor(
    pipeline: Core,
    private readonly logger: Logger,
    private readonly record: (event: TimelineEvent) => Promise<void>,
    private readonly restartDelayMs: number,
  ) {
    this.progress = pipeline.progress;
  }

  /** Follows from the newest event on. Rejects when Redis cannot be read. */
  async start(): Promise<void> {
    if (this.handle || this.stopping) return;
    // The progress hub replays from an id; "from now" is after the newest entry of the stream.
    this.cursor = await this.progress.newestEventId();
    await this.follow();
  }

  /** Stops following and finishes recording the events already received. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.restartTimer);
      await this.handle?.stop();
      this.handle = null;
      await this.recorded;
    })();
    return this.stopping;
  }

  private async follow(): Promise<void> {
    this.handle = await this.progress.follow(
      null,
      this.cursor,
      (event, id) => {
        this.cursor = id;
        this.enqueue(event);
      },
      { onError: (err) => this.onFollowError(err) },
    );
  }

  private enqueue(event: TimelineEvent): void {
    this.recorded = this.recorded.then(() =>
      this.record(event).catch((err: unknown) =>
        this.logger.error(
          { err, eventType: event.type, incidentId: event.incidentId },
          'metrics: cannot record event',
        ),
      ),
    );
  }

  private onFollowError(err: unknown): void {
    this.handle = null;
    if (this.stopping) return;
    if (err instanceof InvalidOperationError) {
      this.logger.error({ err }, 'metrics: the progress hub is closed; event metrics stop here');
      return;
    }
    this.logger.error({ err }, 'metrics: following the events stream failed; following again shortly');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) this.follow().catch((e: unknown) => this.onFollowError(e));
    }, this.restartDelayMs);
    this.restartTimer.unref();
  }
}
