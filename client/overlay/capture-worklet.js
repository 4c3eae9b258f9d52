// Sparring microphone capture: an AudioWorkletProcessor that turns whatever the
// browser captures (any rate, any channel count) into 16 kHz signed 16-bit
// little-endian PCM, and posts one frame per 100 ms of audio:
//   mono:   1600 samples =  3200 bytes
//   stereo: 1600 frames  =  6400 bytes, interleaved L R L R (left = rep, right = customer)
// Each message to the main thread is {pcm, level, peak, clipped}: pcm an ArrayBuffer;
// level the RMS of the frame (0..1, for the microphone meter and the page's microphone
// check); quietest the RMS of its quietest 10 ms (the gaps between words: a noise floor);
// peak its largest absolute sample (0..1); clipped and captured: how many of the
// samples the device delivered in about that time (before resampling, all channels) there
// were, and how many of them reached full scale. Send "stop" to end the processor.

const OUT_RATE = 16000;
const FRAME = OUT_RATE / 10; // samples per channel in 100 ms
const CLIP = 0.99; // a captured sample at or above this (absolute) counts as clipped
const SUB = OUT_RATE / 100; // samples per channel in 10 ms, for the quietest stretch of a frame

// One RBJ low-pass biquad (direct form I), used in pairs as a 4th-order Butterworth
// anti-aliasing filter before decimating, so 16-24 kHz content does not fold into the band.
class Biquad {
  constructor(fs, fc, q) {
    const w0 = (2 * Math.PI * fc) / fs;
    const cos = Math.cos(w0);
    const alpha = Math.sin(w0) / (2 * q);
    const a0 = 1 + alpha;
    this.b0 = (1 - cos) / 2 / a0;
    this.b1 = (1 - cos) / a0;
    this.b2 = this.b0;
    this.a1 = (-2 * cos) / a0;
    this.a2 = (1 - alpha) / a0;
    this.x1 = this.x2 = this.y1 = this.y2 = 0;
  }
  step(x) {
    const y = this.b0 * x + this.b1 * this.x1 + this.b2 * this.x2 - this.a1 * this.y1 - this.a2 * this.y2;
    this.x2 = this.x1;
    this.x1 = x;
    this.y2 = this.y1;
    this.y1 = y;
    return y;
  }
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.channels = opts.channels === 2 ? 2 : 1;
    // `sampleRate` is the AudioContext's rate, a global of the worklet scope.
    this.step = sampleRate / OUT_RATE; // input samples per output sample
    this.pos = 0; // read position of the next output sample, relative to the block start
    this.last = new Float32Array(this.channels); // previous block's last sample (position -1)
    this.filters = [];
    for (let c = 0; c < this.channels; c++) {
      this.filters.push(
        this.step > 1.01
          ? [new Biquad(sampleRate, 7000, 0.5412), new Biquad(sampleRate, 7000, 1.3066)]
          : [],
      );
    }
    this.work = [];
    for (let c = 0; c < this.channels; c++) this.work.push(new Float32Array(128));
    this.newFrame();
    this.stopped = false;
    this.port.onmessage = (e) => {
      if (e.data === 'stop') this.stopped = true;
    };
  }

  newFrame() {
    this.buf = new ArrayBuffer(FRAME * this.channels * 2);
    this.view = new DataView(this.buf);
    this.fill = 0; // samples per channel written into this frame
    this.sumSq = 0;
    this.peak = 0;
    this.clipped = 0;
    this.captured = 0;
    this.subSq = 0;
    this.quietest = Infinity;
  }

  push(values) {
    // values: one float per channel, for one output instant
    for (let c = 0; c < this.channels; c++) {
      let s = values[c];
      if (s > 1) s = 1;
      else if (s < -1) s = -1;
      this.sumSq += s * s;
      this.subSq += s * s;
      const a = s < 0 ? -s : s;
      if (a > this.peak) this.peak = a;
      const v = s < 0 ? Math.round(s * 0x8000) : Math.round(s * 0x7fff);
      this.view.setInt16((this.fill * this.channels + c) * 2, v, true);
    }
    this.fill++;
    if (this.fill % SUB === 0) {
      const rms = Math.sqrt(this.subSq / (SUB * this.channels));
      if (rms < this.quietest) this.quietest = rms;
      this.subSq = 0;
    }
    if (this.fill === FRAME) {
      const level = Math.sqrt(this.sumSq / (FRAME * this.channels));
      this.port.postMessage({
        pcm: this.buf, level, quietest: this.quietest, peak: this.peak, clipped: this.clipped, captured: this.captured,
      }, [this.buf]);
      this.newFrame();
    }
  }

  process(inputs) {
    if (this.stopped) return false;
    const input = inputs[0];
    if (!input || input.length === 0) return true; // nothing connected (yet)
    const n = input[0].length;
    if (this.work[0].length !== n) this.work = this.work.map(() => new Float32Array(n));

    // 0. Clipping is counted on what the device delivered: the low-pass below rounds it off.
    this.captured += n * input.length;
    for (let ch = 0; ch < input.length; ch++) {
      const x = input[ch];
      for (let i = 0; i < n; i++) if (x[i] >= CLIP || x[i] <= -CLIP) this.clipped++;
    }

    // 1. Channel mapping: mono downmixes every input channel; stereo keeps left/right
    //    (a mono device in stereo mode feeds both sides, which the page warns about).
    for (let c = 0; c < this.channels; c++) {
      const out = this.work[c];
      if (this.channels === 1) {
        const k = input.length;
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let ch = 0; ch < k; ch++) s += input[ch][i];
          out[i] = s / k;
        }
      } else {
        out.set(input[Math.min(c, input.length - 1)]);
      }
      // 2. Anti-aliasing low-pass (only when decimating).
      const f = this.filters[c];
      if (f.length) {
        for (let i = 0; i < n; i++) out[i] = f[1].step(f[0].step(out[i]));
      }
    }

    // 3. Linear-interpolation resampling to 16 kHz; position -1 is the previous block's last sample.
    const vals = new Float32Array(this.channels);
    let t = this.pos;
    while (t < n - 1) {
      const i = Math.floor(t);
      const frac = t - i;
      for (let c = 0; c < this.channels; c++) {
        const x = this.work[c];
        const a = i < 0 ? this.last[c] : x[i];
        vals[c] = a + (x[i + 1] - a) * frac;
      }
      this.push(vals);
      t += this.step;
    }
    this.pos = t - n;
    for (let c = 0; c < this.channels; c++) this.last[c] = this.work[c][n - 1];
    return true;
  }
}

registerProcessor('sparring-capture', CaptureProcessor);
