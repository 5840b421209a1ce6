// The 3-second hold in the browser: a port of stream/confirm.py (HoldConfirmer), same rules and numbers.
// Fed (t seconds, calibrated lesion-class probabilities or null, P(not a lesion), the gate's reason); settings are
// the server's (bundle.hold). Class and group indices are ints; states mirror HoldState and Confirmation.
"use strict";

class Counter {  // collections.Counter: most_common keeps first-insertion order among equal counts
  constructor() { this.map = new Map(); }
  add(key) { this.map.set(key, (this.map.get(key) || 0) + 1); }
  get(key) { return this.map.get(key) || 0; }
  get size() { return this.map.size; }
  total() { let n = 0; for (const v of this.map.values()) n += v; return n; }
  mostCommon(n) { return [...this.map.entries()].map((e, i) => [...e, i]).sort((a, b) => b[1] - a[1] || a[2] - b[2]).slice(0, n); }
}

const argmax = (xs) => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);

export class HoldConfirmer {
  constructor({ hold_seconds = 3.0, min_confidence = 0.5, grace = 0.6, max_gap = 1.0, smoothing = 0.3,
    min_agreement = 0.8, groups = null, decide_within = 10.0, candidate_share = 0.2 } = {}) {
    if (!(hold_seconds > 0)) throw new Error("hold_seconds must be positive");
    Object.assign(this, { holdSeconds: hold_seconds, minConfidence: min_confidence, grace, maxGap: max_gap,
      smoothing, minAgreement: min_agreement, groups, decideWithin: decide_within, candidateShare: candidate_share });
    this.reset();
  }

  reset() {  // forget everything, including a confirmed result
    this.restart();
    this.locked = null;
    this.lastT = null;
    this.forgetAttempt();
  }

  forgetAttempt() {
    this.tryingSince = null;
    this.lastSeen = null;
    this.unusable = new Counter();
    this.tops = new Counter();
    this.weak = 0;
    this.changes = 0;
  }

  restart(candidate = null, t = null) {
    this.ema = null;
    this.candidate = candidate;
    this.start = t;
    this.offSince = null;
    this.lostSince = null;
    this.sumProbs = null;
    this.sumNotLesion = 0;
    this.nProbs = 0;
    this.nAgree = 0;
    this.classTops = new Counter();
  }

  groupProbs(probs) {
    if (this.groups == null) return probs;
    const out = new Array(Math.max(...this.groups) + 1).fill(0);
    probs.forEach((p, i) => { out[this.groups[i]] += p; });
    return out;
  }

  groupOf(i) { return this.groups == null ? i : this.groups[i]; }

  update(t, probs, notLesion = 0, reason = null) {
    if (this.lastT !== null && t - this.lastT > this.maxGap) this.restart();  // a stall
    const dt = this.lastT === null ? 0 : Math.max(0, t - this.lastT);
    this.lastT = t;
    if (probs == null) return this.lost(t, reason);
    this.lostSince = null;
    probs = Array.from(probs, Number);
    this.trackAttempt(t, probs);
    if (this.ema === null || this.smoothing <= 0) this.ema = probs.slice();
    else {
      const k = 1 - Math.exp(-dt / this.smoothing);
      this.ema = this.ema.map((e, i) => e + k * (probs[i] - e));
    }
    const groupEma = this.groupProbs(this.ema);
    const top = argmax(groupEma), conf = Math.max(...groupEma);
    const steady = conf >= this.minConfidence;
    this.weak += !steady;

    if (this.locked !== null) {
      if (steady && top !== this.locked) {
        if (this.offSince === null) this.offSince = t;
        if (t - this.offSince >= this.grace) {  // another lesion or outcome took over: re-arm
          this.locked = null;
          this.forgetAttempt();
          this.trackAttempt(t, probs);
          this.begin(top, this.offSince, probs, notLesion);
          return this.state("holding");
        }
      } else this.offSince = null;
      return this.state("confirmed", 1.0);
    }

    if (this.candidate === null) {
      if (steady) this.begin(top, t, probs, notLesion);
      return this.state(steady ? "holding" : "searching");
    }

    if (steady && top === this.candidate) this.offSince = null;
    else {
      if (this.offSince === null) this.offSince = t;
      if (t - this.offSince >= this.grace) {
        const ema = this.ema;
        this.restart();
        this.ema = ema;
        this.changes += 1;
        if (steady) {
          this.begin(top, t, probs, notLesion);
          return this.state("holding");
        }
        return this.state("searching");
      }
    }
    this.add(probs, notLesion);
    const held = t - this.start;
    const mean = this.sumProbs.map((s) => s / this.nProbs), groupMean = this.groupProbs(mean);
    if (held >= this.holdSeconds && this.offSince === null && argmax(groupMean) === this.candidate
        && groupMean[this.candidate] >= this.minConfidence && this.nAgree >= this.minAgreement * this.nProbs) {
      const confirmation = this.confirmation(mean, groupMean, t, held);
      this.locked = this.candidate;
      this.forgetAttempt();
      return this.state("confirmed", 1.0, confirmation);
    }
    return this.state("holding");
  }

  members(n) { return [...Array(n).keys()].filter((i) => this.groupOf(i) === this.candidate); }

  leader(mean) {  // the member of the held group with the highest mean (the first of equals)
    const members = this.members(mean.length);
    return members.length ? members.reduce((best, i) => (mean[i] > mean[best] ? i : best)) : null;
  }

  confirmation(mean, groupMean, t, held) {
    const best = this.leader(mean);
    const often = this.members(mean.length).filter((i) => this.classTops.get(i) >= this.candidateShare * this.nProbs);
    const candidates = [...new Set([...often, best])].sort((a, b) => a - b)
      .map((i, order) => [i, order]).sort((a, b) => -mean[a[0]] + mean[b[0]] || a[1] - b[1]).map(([i]) => i);
    return { class_index: best, confidence: mean[best], probs: mean, t, held_seconds: held,
      not_lesion: this.sumNotLesion / this.nProbs, candidates, group_confidence: groupMean[this.candidate] };
  }

  begin(candidate, t, probs, notLesion = 0) {
    this.candidate = candidate;
    this.start = t;
    this.offSince = null;
    this.sumProbs = probs.map(() => 0);
    this.sumNotLesion = 0;
    this.nProbs = 0;
    this.nAgree = 0;
    this.classTops = new Counter();
    this.add(probs, notLesion);
  }

  add(probs, notLesion) {
    this.sumProbs = this.sumProbs.map((s, i) => s + probs[i]);
    this.sumNotLesion += notLesion;
    this.nProbs += 1;
    this.nAgree += argmax(this.groupProbs(probs)) === this.candidate;
    this.classTops.add(argmax(probs));
  }

  trackAttempt(t, probs) {
    if (this.tryingSince === null && this.locked === null) this.tryingSince = t;
    this.lastSeen = t;
    this.tops.add(argmax(probs));
  }

  lost(t, reason) {
    if (this.lostSince === null) this.lostSince = t;
    if (this.tryingSince !== null) {
      this.unusable.add(reason || "lost");
      if (this.decideWithin != null && t - this.lastSeen >= this.decideWithin) this.forgetAttempt();
    }
    if (t - this.lostSince >= this.grace) {
      this.restart();
      this.locked = null;  // the lesion left the view: the next one can be confirmed
      return this.state("searching");
    }
    if (this.locked !== null) return this.state("confirmed", 1.0);
    return this.state(this.candidate !== null ? "holding" : "searching");
  }

  undecided() {  // the gate's commonest complaint, a model that keeps changing, or low confidence
    if (this.decideWithin == null || this.tryingSince === null || this.locked !== null
        || this.lastT - this.tryingSince < this.decideWithin) return null;
    if (this.unusable.total() > this.tops.total()) return this.unusable.mostCommon(1)[0][0];
    if (this.changes || this.tops.size > 1) return "changing";
    return "unsure";
  }

  state(phase, progress = null, confirmation = null) {
    if (progress === null) progress = this.start === null ? 0 : Math.min(0.99, (this.lastT - this.start) / this.holdSeconds);
    let leader = null, confidence = null;
    if (confirmation) ({ class_index: leader, confidence } = confirmation);
    else if (this.sumProbs !== null && this.nProbs) {
      const mean = this.sumProbs.map((s) => s / this.nProbs);
      leader = this.leader(mean);
      confidence = leader === null ? null : mean[leader];
    }
    if (phase === "confirmed" && !confirmation) { leader = this.confirmedLeader; confidence = this.confirmedConfidence; }
    if (confirmation) { this.confirmedLeader = leader; this.confirmedConfidence = confidence; }
    const undecided = this.undecided();
    const rivals = undecided ? this.tops.mostCommon(2).map(([k]) => k) : [];
    return { phase, candidate: leader, progress, smoothed: this.ema ? this.ema.slice() : null, confirmation,
      confidence, undecided, rivals };
  }
}
