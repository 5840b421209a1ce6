// The 3-second hold in the browser: a port of stream/confirm.py (HoldConfirmer), same rules and numbers.
// Fed (t seconds, calibrated lesion-class probabilities or null, P(not a lesion), the gate's reason); the settings
// are the pipeline spec's (bundle.spec.hold): every one must be given. Class and group indices are ints; states mirror
// HoldState and Confirmation.

class Counter {  // collections.Counter: most_common keeps first-insertion order among equal counts
  constructor() { this.map = new Map(); }
  add(key) { this.map.set(key, this.get(key) + 1); }
  get(key) { return this.map.get(key) || 0; }
  get size() { return this.map.size; }
  total() { let n = 0; for (const v of this.map.values()) n += v; return n; }
  mostCommon(n) { return [...this.map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([key]) => key); }  // stable sort
}

const argmax = (xs) => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);  // np.argmax: the first of equals
const divide = (xs, n) => xs.map((x) => x / n);

const SETTINGS = ["hold_seconds", "min_confidence", "grace", "max_gap", "smoothing", "min_agreement", "groups",
  "decide_within", "candidate_share", "progress_cap", "settle_group"];  // confirm.HoldSettings

export class HoldConfirmer {
  constructor(settings) {
    const missing = SETTINGS.filter((k) => settings?.[k] === undefined);
    if (missing.length) throw new Error(`hold settings missing: ${missing.join(", ")}`);
    const { hold_seconds, min_confidence, grace, max_gap, smoothing, min_agreement, groups, decide_within,
      candidate_share, progress_cap, settle_group } = settings;
    if (!(hold_seconds > 0)) throw new Error("hold_seconds must be positive");
    this.holdSeconds = hold_seconds;
    this.minConfidence = min_confidence;
    this.grace = grace;
    this.maxGap = max_gap;
    this.smoothing = smoothing;
    this.minAgreement = min_agreement;
    this.groups = groups == null ? null : Array.from(groups);
    this.decideWithin = decide_within;
    this.candidateShare = candidate_share;
    this.progressCap = progress_cap;
    this.settleGroup = settle_group;
    this.reset();
  }

  /** Forget everything, including a confirmed result (e.g. the user pressed 'start over'). */
  reset() {
    this.#restart();
    this.locked = null;
    this.lastT = null;
    this.#forgetAttempt();
  }

  #forgetAttempt() {
    this.tryingSince = null;  // first frame with a lesion since the last result
    this.lastSeen = null;
    this.unusable = new Counter();
    this.tops = new Counter();
    this.changes = 0;
    this.attemptSum = null;  // the attempt's usable frames: summed probabilities, P(not a lesion)
    this.attemptNotLesion = 0;
    this.attemptN = 0;
  }

  #restart() {
    this.ema = null;
    this.candidate = null;
    this.start = null;
    this.offSince = null;
    this.lostSince = null;
    this.sumProbs = null;
    this.sumNotLesion = 0;
    this.nProbs = 0;
    this.nAgree = 0;  // frames of the hold whose own top group is the candidate
    this.classTops = new Counter();  // each frame's own top class during the hold
  }

  #groupProbs(probs) {  // np.bincount(groups, weights=probs)
    if (this.groups === null) return probs;
    const out = new Array(Math.max(...this.groups) + 1).fill(0);
    probs.forEach((p, i) => { out[this.groups[i]] += p; });
    return out;
  }

  #members(n, group = this.candidate) {  // the classes of a group (default: the one being held)
    return [...Array(n).keys()].filter((i) => (this.groups === null ? i : this.groups[i]) === group);
  }

  #leader(mean, group = this.candidate) {  // max(members, key=mean): the first of equals
    const members = this.#members(mean.length, group);
    return members.length ? members.reduce((best, i) => (mean[i] > mean[best] ? i : best)) : null;
  }

  #named(mean, group, tops, frames) {  // HoldConfirmer._named: a confirmed group's class and its candidates
    const best = this.#leader(mean, group);
    const often = this.#members(mean.length, group).filter((i) => tops.get(i) >= this.candidateShare * frames);
    // sorted(set(often) | {best}, key=-mean): a set of small ints iterates in ascending order, and sorted is stable
    return { best, candidates: [...new Set([...often, best])].sort((a, b) => a - b).sort((a, b) => mean[b] - mean[a]) };
  }

  update(t, probs, notLesion = 0, reason = null) {
    if (this.lastT !== null && t - this.lastT > this.maxGap) this.#restart();  // a stall
    const dt = this.lastT === null ? 0 : Math.max(0, t - this.lastT);
    this.lastT = t;
    if (probs == null) return this.#lost(t, reason);
    this.lostSince = null;
    probs = Array.from(probs, Number);
    this.#trackAttempt(t, probs, notLesion);
    if (this.ema === null || this.smoothing <= 0) this.ema = probs.slice();
    else {
      const k = 1 - Math.exp(-dt / this.smoothing);
      this.ema = this.ema.map((e, i) => e + k * (probs[i] - e));
    }
    const groupEma = this.#groupProbs(this.ema);
    const top = argmax(groupEma), steady = groupEma[top] >= this.minConfidence;

    if (this.locked !== null) {
      if (steady && top !== this.locked) {
        if (this.offSince === null) this.offSince = t;
        if (t - this.offSince >= this.grace) {  // another lesion or outcome took over: re-arm
          this.locked = null;
          this.#forgetAttempt();
          this.#trackAttempt(t, probs, notLesion);
          this.#begin(top, this.offSince, probs, notLesion);
          return this.#state("holding");
        }
      } else this.offSince = null;
      return this.#state("confirmed", 1.0);
    }

    const settled = this.#settled(t);
    if (settled) return settled;

    if (this.candidate === null) {
      if (steady) this.#begin(top, t, probs, notLesion);
      return this.#state(steady ? "holding" : "searching");
    }

    if (steady && top === this.candidate) this.offSince = null;
    else {
      if (this.offSince === null) this.offSince = t;
      if (t - this.offSince >= this.grace) {
        const ema = this.ema;
        this.#restart();
        this.ema = ema;
        this.changes += 1;
        if (steady) {
          this.#begin(top, t, probs, notLesion);
          return this.#state("holding");
        }
        return this.#state("searching");
      }
    }
    this.#add(probs, notLesion);
    const held = t - this.start, mean = divide(this.sumProbs, this.nProbs), groupMean = this.#groupProbs(mean);
    if (held >= this.holdSeconds && this.offSince === null && argmax(groupMean) === this.candidate
        && groupMean[this.candidate] >= this.minConfidence && this.nAgree >= this.minAgreement * this.nProbs) {
      const confirmation = this.#confirmation(mean, groupMean, t, held);
      this.locked = this.candidate;
      this.#forgetAttempt();
      return this.#state("confirmed", 1.0, confirmation);
    }
    return this.#state("holding");
  }

  #confirmation(mean, groupMean, t, held) {
    const { best, candidates } = this.#named(mean, this.candidate, this.classTops, this.nProbs);
    return { class_index: best, confidence: mean[best], probs: mean, t, held_seconds: held,
      not_lesion: this.sumNotLesion / this.nProbs, candidates, group_confidence: groupMean[this.candidate] };
  }

  #begin(candidate, t, probs, notLesion) {
    this.candidate = candidate;
    this.start = t;
    this.offSince = null;
    this.sumProbs = probs.map(() => 0);
    this.sumNotLesion = 0;
    this.nProbs = 0;
    this.nAgree = 0;
    this.classTops = new Counter();
    this.#add(probs, notLesion);
  }

  #add(probs, notLesion) {
    this.sumProbs = this.sumProbs.map((s, i) => s + probs[i]);
    this.sumNotLesion += notLesion;
    this.nProbs += 1;
    this.nAgree += argmax(this.#groupProbs(probs)) === this.candidate ? 1 : 0;
    this.classTops.add(argmax(probs));
  }

  #trackAttempt(t, probs, notLesion) {
    if (this.tryingSince === null && this.locked === null) this.tryingSince = t;
    this.lastSeen = t;
    this.tops.add(argmax(probs));
    this.attemptSum = this.attemptSum === null ? probs.slice() : this.attemptSum.map((s, i) => s + probs[i]);
    this.attemptNotLesion += notLesion;
    this.attemptN += 1;
  }

  #settled(t) {  // HoldConfirmer._settled: the settle group, when the answer keeps changing into it
    const group = this.settleGroup, share = this.candidateShare;
    if (group === null || this.groups === null || this.#undecided() !== "changing") return null;
    const frames = this.tops.total();
    let leads = 0;
    for (const [i, n] of this.tops.map) if (this.groups[i] === group) leads += n;
    if (leads < share * frames) return null;
    const mean = divide(this.attemptSum, this.attemptN);
    const { best, candidates } = this.#named(mean, group, this.tops, frames);
    const confirmation = { class_index: best, confidence: mean[best], probs: mean, t, held_seconds: t - this.tryingSince,
      not_lesion: this.attemptNotLesion / this.attemptN, candidates, group_confidence: this.#groupProbs(mean)[group] };
    this.locked = group;
    this.#forgetAttempt();
    return this.#state("confirmed", 1.0, confirmation);
  }

  #lost(t, reason) {
    if (this.lostSince === null) this.lostSince = t;
    if (this.tryingSince !== null) {
      this.unusable.add(reason || "lost");
      if (this.decideWithin !== null && t - this.lastSeen >= this.decideWithin) {
        this.#forgetAttempt();  // nobody has shown a lesion for a while: a new attempt starts
      }
    }
    if (t - this.lostSince >= this.grace) {
      this.#restart();
      this.locked = null;  // the lesion left the view: the next one can be confirmed
      return this.#state("searching");
    }
    if (this.locked !== null) return this.#state("confirmed", 1.0);
    return this.#state(this.candidate !== null ? "holding" : "searching");
  }

  #undecided() {  // the gate's commonest complaint, a model that keeps changing, or low confidence
    if (this.decideWithin === null || this.tryingSince === null || this.locked !== null
        || this.lastT - this.tryingSince < this.decideWithin) return null;
    if (this.unusable.total() > this.tops.total()) return this.unusable.mostCommon(1)[0];
    if (this.changes || this.tops.size > 1) return "changing";
    return "unsure";
  }

  #state(phase, progress = null, confirmation = null) {
    if (progress === null) {  // 1.0 is kept for a confirmation
      progress = this.start === null ? 0 : Math.min(this.progressCap, (this.lastT - this.start) / this.holdSeconds);
    }
    let leader = null, confidence = null;
    if (confirmation) {
      leader = confirmation.class_index;
      confidence = confirmation.confidence;
      this.confirmedLeader = leader;
      this.confirmedConfidence = confidence;
    } else if (phase === "confirmed") {
      leader = this.confirmedLeader;
      confidence = this.confirmedConfidence;
    } else if (this.sumProbs !== null && this.nProbs) {
      const mean = divide(this.sumProbs, this.nProbs);
      leader = this.#leader(mean);
      confidence = leader === null ? null : mean[leader];
    }
    const undecided = this.#undecided();
    return { phase, candidate: leader, progress, smoothed: this.ema === null ? null : this.ema.slice(), confirmation,
      confidence, undecided, rivals: undecided ? this.tops.mostCommon(2) : [] };
  }
}
