// Keeps N <video> elements showing the same frame: one leader (the first), followers corrected to it.
//
// * Start, pause, seek and loop act on all videos together: a seek pauses everything, seeks every video,
//   waits until each one has the target frame, then restarts them in one task.
// * While playing, on every leader frame (requestVideoFrameCallback, else timeupdate) and on a 100 ms
//   timer, each follower's drift from the leader is measured. Above half a frame interval it is
//   corrected: a small drift by nudging the follower's playbackRate (smooth, no stutter), a large one
//   (> 0.25 s, e.g. after a stall) by seeking the follower to where the leader will be when the seek
//   completes (the seek latency is measured and averaged).
// * If any video runs out of data, all pause until every video can play again.

const HAVE_FUTURE_DATA = 3;
const HARD_SEEK_S = 0.25;
const MAX_RATE_NUDGE = 0.25;

function once(target, type) {
  return new Promise((resolve) => target.addEventListener(type, resolve, { once: true }));
}

export class VideoSync {
  constructor(videos, fps, onTime = () => {}) {
    this.videos = videos;
    this.leader = videos[0];
    this.followers = videos.slice(1);
    this.tolerance = 0.5 / fps;
    this.onTime = onTime;
    this.playing = false;
    this.busy = false;      // inside a group seek: no drift correction
    this.seekGeneration = 0;
    this.stalled = false;
    this.seekLatency = 0.05;
    this.closed = false;
    for (const v of videos) {
      v.muted = true;
      v.playsInline = true;
      v.loop = false;
      v.preload = 'auto';
    }
    this.leader.addEventListener('ended', () => this.seek(0));
    this.leader.addEventListener('timeupdate', () => this.tick());
    this.timer = setInterval(() => this.tick(), 100);
    if ('requestVideoFrameCallback' in HTMLVideoElement.prototype) {
      const onFrame = () => {
        if (this.closed) return;
        this.tick();
        this.leader.requestVideoFrameCallback(onFrame);
      };
      this.leader.requestVideoFrameCallback(onFrame);
    }
  }

  get duration() { return this.leader.duration || 0; }
  get currentTime() { return this.leader.currentTime; }

  /** Resolves once every video can play from its current position. */
  ready() {
    return Promise.all(this.videos.map((v) => (v.readyState >= HAVE_FUTURE_DATA ? null : once(v, 'canplay'))));
  }

  /** Start all videos together (after each can play); ``playing`` is the wanted state, kept by seeks. */
  async play() {
    this.playing = true;
    await this.ready();
    if (!this.playing || this.busy || this.closed) return;
    for (const v of this.videos) v.playbackRate = 1;
    // One task: the browser starts all clocks together.
    await Promise.all(this.videos.map((v) => v.play().catch(() => {})));
  }

  pause() {
    this.playing = false;
    for (const v of this.videos) v.pause();
    return this.seek(this.leader.currentTime);
  }

  /** Seek every video to time t (seconds), then resume if playing is wanted. A newer seek supersedes. */
  async seek(t) {
    if (this.closed) return;
    const generation = ++this.seekGeneration;
    this.busy = true;
    for (const v of this.videos) v.pause();
    const target = Math.max(0, Math.min(t, this.duration || t));
    await Promise.all(this.videos.map((v) => {
      if (Math.abs(v.currentTime - target) < 1e-6 && !v.seeking) return null;
      const done = once(v, 'seeked');
      v.currentTime = target;
      return done;
    }));
    if (generation !== this.seekGeneration) return;
    this.busy = false;
    this.onTime(target);
    if (this.playing) await this.play();
  }

  /** Drift correction; runs on leader frames, timeupdate and a timer. */
  tick() {
    if (this.closed) return;
    this.onTime(this.leader.currentTime);
    if (this.busy || !this.playing || this.leader.seeking) return;
    if (this.videos.some((v) => v.readyState < HAVE_FUTURE_DATA && !v.seeking && !v.ended)) {
      this.stall();
      return;
    }
    const leaderTime = this.leader.currentTime;
    for (const f of this.followers) {
      if (f.seeking || f.ended) continue;
      const drift = f.currentTime - leaderTime;
      if (Math.abs(drift) > HARD_SEEK_S) {
        this.hardSeek(f);
      } else if (Math.abs(drift) > this.tolerance) {
        f.playbackRate = 1 - Math.max(-MAX_RATE_NUDGE, Math.min(MAX_RATE_NUDGE, drift * 4));
      } else if (f.playbackRate !== 1 && Math.abs(drift) < this.tolerance / 2) {
        f.playbackRate = 1;
      }
      if (f.paused) f.play().catch(() => {});
    }
  }

  hardSeek(follower) {
    const started = performance.now();
    follower.playbackRate = 1;
    follower.currentTime = Math.min(this.leader.currentTime + this.seekLatency, this.duration);
    once(follower, 'seeked').then(() => {
      const latency = (performance.now() - started) / 1000;
      this.seekLatency = Math.min(0.5, 0.7 * this.seekLatency + 0.3 * latency);
    });
  }

  async stall() {
    if (this.stalled) return;
    this.stalled = true;
    for (const v of this.videos) v.pause();
    await this.ready();
    this.stalled = false;
    await this.seek(this.leader.currentTime);
  }

  close() {
    this.closed = true;
    this.playing = false;
    clearInterval(this.timer);
    for (const v of this.videos) {
      v.pause();
      v.removeAttribute('src');
      v.load();
    }
  }
}
