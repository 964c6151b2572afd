// Study page flow: session -> trial (N synchronized videos in the server's left-to-right order) -> vote.
import { VideoSync } from './sync.js';

const $ = (id) => document.getElementById(id);
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  };
  const response = await fetch(path, { credentials: 'same-origin', ...init });
  const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  return { status: response.status, data };
}

function show(section) {
  for (const id of ['intro', 'trial', 'done']) $(id).hidden = id !== section;
}

function setStatus(text) { $('status').textContent = text || ''; }

class StudyPage {
  constructor() {
    this.sync = null;
    this.trial = null;
    this.watched = 0;
    this.lastTime = 0;
    $('start').addEventListener('click', () => this.start());
    $('playpause').addEventListener('click', () => this.togglePlay());
    $('seek').addEventListener('input', () => this.sync && this.sync.seek(Number($('seek').value)));
    document.addEventListener('keydown', (e) => {
      if (e.code === 'Space' && this.sync && e.target.tagName !== 'BUTTON') {
        e.preventDefault();
        this.togglePlay();
      }
    });
  }

  async boot() {
    const { status } = await api('/api/trial');
    if (status === 401 || new URLSearchParams(location.search).has('new')) {
      show('intro');
    } else {
      await this.next();
    }
  }

  async start() {
    $('start').disabled = true;
    const label = new URLSearchParams(location.search).get('pid');
    const { status, data } = await api('/api/session', label ? { label } : {});
    if (status !== 200) {
      setStatus(data.error);
      $('start').disabled = false;
      return;
    }
    await this.next();
  }

  async next() {
    if (this.sync) this.sync.close();
    this.sync = null;
    const { status, data } = await api('/api/trial');
    if (status !== 200) {
      setStatus(data.error);
      return;
    }
    if (data.done) {
      $('progress').textContent = `${data.total} of ${data.total} done`;
      show('done');
      return;
    }
    this.showTrial(data);
  }

  showTrial(trial) {
    this.trial = trial;
    this.watched = 0;
    this.lastTime = 0;
    $('question').textContent = trial.question;
    $('progress').textContent = `Clip ${trial.number} of ${trial.total}`;
    const box = $('videos');
    box.replaceChildren();
    box.style.setProperty('--count', trial.videos.length);
    box.style.setProperty('--aspect', `${trial.width} / ${trial.height}`);
    const videos = trial.videos.map((video, i) => {
      const figure = document.createElement('figure');
      const element = document.createElement('video');
      element.muted = true;
      element.playsInline = true;
      element.preload = 'auto';
      element.src = video.url;
      element.addEventListener('error', () => setStatus(`Video ${LETTERS[i]} failed to load; please reload the page.`));
      const caption = document.createElement('figcaption');
      caption.textContent = LETTERS[i];
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'vote';
      button.dataset.choice = video.id;
      button.textContent = `${LETTERS[i]} looks most realistic`;
      button.disabled = trial.min_view_seconds > 0;
      button.addEventListener('click', () => this.vote(video.id));
      figure.append(element, caption, button);
      box.append(figure);
      return element;
    });
    $('seek').max = String(trial.duration);
    $('seek').step = String(1 / trial.fps);
    show('trial');
    setStatus('');
    this.sync = new VideoSync(videos, trial.fps, (t) => this.onTime(t));
    this.sync.play().then(() => { $('playpause').textContent = 'Pause'; });
  }

  onTime(t) {
    const step = t - this.lastTime;
    if (this.sync && this.sync.playing && step > 0 && step < 0.5) this.watched += step;
    this.lastTime = t;
    $('time').textContent = `${t.toFixed(1)} / ${this.trial.duration.toFixed(1)} s`;
    if (document.activeElement !== $('seek')) $('seek').value = String(t);
    if (this.watched + 1e-3 >= this.trial.min_view_seconds) {
      for (const b of document.querySelectorAll('button.vote')) if (!this.voting) b.disabled = false;
    }
  }

  togglePlay() {
    if (this.sync.playing) {
      this.sync.pause();
      $('playpause').textContent = 'Play';
    } else {
      this.sync.play();
      $('playpause').textContent = 'Pause';
    }
  }

  async vote(choice) {
    this.voting = true;
    for (const b of document.querySelectorAll('button.vote')) b.disabled = true;
    const { status, data } = await api('/api/vote', { trial: this.trial.trial, choice });
    this.voting = false;
    if (status !== 200 && status !== 409) {
      setStatus(`Your answer was not saved: ${data.error}`);
      for (const b of document.querySelectorAll('button.vote')) b.disabled = false;
      return;
    }
    await this.next();
  }
}

const page = new StudyPage();
window.studyPage = page; // for debugging and the browser test
page.boot();
