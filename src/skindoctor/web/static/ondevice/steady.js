// The steady box in the browser: a port of stream/steady.py (SteadyLocalizer). A live stream keeps the lesion box
// while the picture holds still: the last answer is handed back for up to ``max_reuse`` frames while the frame's
// working copy stays within ``tolerance`` (mean absolute difference in 8-bit levels) of the one it was found in.
// The settings are the pipeline spec's (bundle.spec.steady).
"use strict";

export class SteadyBox {
  constructor(settings) {
    this.maxReuse = settings.max_reuse;
    this.tolerance = settings.tolerance;
    this.reset();
  }

  reset() {
    this.size = null;
    this.reference = null;  // the working copy the last answer was found in
    this.found = null;
    this.reused = 0;
  }

  #still(frame, small) {
    if (!this.reference || this.reused >= this.maxReuse) return false;
    if (frame.width !== this.size[0] || frame.height !== this.size[1]) return false;
    const a = small.data, b = this.reference.data;
    if (a.length !== b.length) return false;
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
    return sum / a.length <= this.tolerance;
  }

  /** ``search(frame, small)`` (the localiser), or its last answer while the frame holds still. */
  async locate(frame, small, search) {
    if (this.found && this.#still(frame, small)) {
      this.reused += 1;
      return this.found;
    }
    this.found = await search(frame, small);
    this.reused = 0;
    this.size = [frame.width, frame.height];
    this.reference = small;
    return this.found;
  }

  /** The localiser's closer search (``search(frame)``); what it finds is kept like a box ``locate`` found. */
  async lookWider(frame, search) {
    const found = await search(frame);
    if (found.box) this.found = found;
    return found;
  }
}
