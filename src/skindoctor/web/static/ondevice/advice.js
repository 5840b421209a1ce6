// Urgency and care text in the browser: ports of advice/triage.py and Advisor.knowledge_advice / explain / top3 /
// undecided_message (advice/advisor.py). Rules (bundle.spec.triage) and each class's urgency (bundle.classes) decide urgency; the
// knowledge base (bundle.knowledge) gives the words; the message tables (tables[lang], from /api/v1/messages) give
// the reasons. The answer equals the server's Advice for the same probabilities, field for field.

const LEVELS = ["routine", "weeks", "prompt"];  // Urgency, in order: a rule may raise it, never lower it

const own = (object, key) => (Object.hasOwn(object, key) ? object[key] : undefined);  // not inherited properties

/** Python's f"{x:.0%}": x·100 (one float multiplication), rounded to an integer half to even. */
export function percent(x) {
  const v = x * 100, f = Math.floor(v), d = v - f;
  return `${d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f}%`;
}

function format(template, values) {  // str.format with {key}, {key:.0%} and the {{ }} escapes
  return template.replace(/\{\{|\}\}|\{(\w+)(?::([^{}]*))?\}/g, (match, key, spec) => {
    if (!key) return match[0];
    if (!Object.hasOwn(values, key)) throw new Error(`no value for {${key}} in ${template}`);
    if (spec === undefined) return String(values[key]);
    if (spec === ".0%") return percent(values[key]);
    throw new Error(`unsupported format {${key}:${spec}}`);
  });
}

export function text(tables, lang, key, values = null) {  // i18n.text: a dotted key in lang, else English, filled in
  for (const l of [lang, "en"]) {
    let node = tables[l];
    for (const part of key.split(".")) node = node && typeof node === "object" ? own(node, part) : undefined;
    if (typeof node === "string") return values ? format(node, values) : node;
  }
  throw new Error(`no text for ${key}`);
}

const entryOf = (kb, code) => own(kb.classes, code);  // Knowledge.entry
const classOf = (bundle, code) => bundle.classes.find((c) => c.code === code);

export function names(code, lang, bundle) {  // class_names: (medical term, plain name), the knowledge base's else the card's
  const entry = entryOf(bundle.knowledge[lang], code);
  if (entry) return [entry.name, entry.plain_name];
  const name = cardName(classOf(bundle, code), lang);
  return [name, name];
}

const cardName = (cls, lang) => cls.names[lang] || cls.names.en || cls.code;  // LesionClass.name
const argmax = (xs) => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);  // np.argmax: the first of equals
const order = (probs) => probs.map((_, i) => i).sort((a, b) => probs[b] - probs[a]);  // argsort(-p), stable

/** triage.triage: urgency from rules on calibrated lesion-class probabilities, with the knowledge of lang. */
export function triage(probs, notLesion, bundle, lang = "en") {
  const { classes } = bundle, rules = bundle.spec.triage, kb = bundle.knowledge[lang];
  const top = argmax(probs), topCode = classes[top].code, entry = entryOf(kb, topCode);
  let urgency = LEVELS.indexOf(classes[top].urgency);  // the catalogue's, the same in every language
  const reasons = [entry ? `class:${topCode}` : `class:${topCode}:no-knowledge`];
  let malignantScore = 0;  // summed left to right, as Python's sum()
  probs.forEach((p, i) => { if (classes[i].can_be_malignant) malignantScore += p; });
  if (malignantScore >= rules.malignant_threshold && urgency < 1) {
    urgency = 1;
    reasons.push("malignant-score");
  }
  probs.forEach((p, i) => {
    if (classes[i].urgency === "prompt" && p >= rules.prompt_class_threshold && urgency < 2) {
      urgency = 2;
      reasons.push(`prompt-class:${classes[i].code}`);
    }
  });
  let uncertain = false;
  if (probs[top] < rules.uncertain_below) {
    uncertain = true;
    reasons.push("low-confidence");
  }
  if (notLesion >= rules.unfamiliar_above) {
    uncertain = true;
    reasons.push("unfamiliar-picture");
  }
  if (uncertain) urgency = Math.max(urgency, 1);
  return { top_class: topCode, urgency: LEVELS[urgency], malignant_score: malignantScore, uncertain, reasons };
}

function explain(t, probs, lang, candidates, bundle, tables) {  // Advisor.explain: the rules that fired, in words
  const index = (code) => bundle.classes.findIndex((c) => c.code === code);
  const lines = [];
  for (const reason of t.reasons) {
    const [rule, code] = reason.split(":");
    if (rule === "class") {
      lines.push(text(tables, lang, "reasons.class", { name: names(code, lang, bundle)[1] }));
      if (reason.endsWith(":no-knowledge")) lines.push(text(tables, lang, "reasons.no-knowledge"));
    } else if (rule === "prompt-class") {
      lines.push(text(tables, lang, "reasons.prompt-class",
        { name: names(code, lang, bundle)[1], pct: percent(probs[index(code)]) }));
    } else if (rule === "malignant-score") {
      lines.push(text(tables, lang, "reasons.malignant-score", { pct: percent(t.malignant_score) }));
    } else if (rule === "low-confidence") {
      lines.push(text(tables, lang, "reasons.low-confidence", { pct: percent(Math.max(...probs)) }));
    } else lines.push(text(tables, lang, `reasons.${rule}`));
  }
  if (candidates.length > 1) {
    const joined = candidates.map((c) => names(c, lang, bundle)[1]).join(` ${text(tables, lang, "ui.or")} `);
    lines.push(text(tables, lang, "reasons.candidates", { names: joined }));
  }
  return lines;
}

/** The k most likely classes, best first (equal ones in class order), as the API's top_k: {class, name, probability}. */
export function topClasses(probs, k, lang, bundle) {
  return order(probs).slice(0, k).map((i) => {
    const code = bundle.classes[i].code;
    return { class: code, name: names(code, lang, bundle)[0], probability: probs[i] };
  });
}

/** Advisor.knowledge_advice(probs, lang, not_lesion, candidates)[0].model_dump(): the knowledge base's Advice. */
export function knowledgeAdvice(probs, lang, notLesion, candidates, bundle, tables) {
  probs = Array.from(probs, Number);
  const kb = bundle.knowledge[lang], t = triage(probs, notLesion, bundle, lang), level = LEVELS.indexOf(t.urgency);
  const entry = entryOf(kb, t.top_class), rt = kb.rule_texts;
  const label = t.uncertain ? kb.uncertain_label : kb.urgency_labels[t.urgency];
  let wording, ownLevel;
  if (entry) {
    const { name, plain_name, description, appearance, care, warning_signs, see_doctor } = entry;
    wording = { name, plain_name, description, appearance, care: [...care], warning_signs: [...warning_signs],
      see_doctor };
    ownLevel = LEVELS.indexOf(classOf(bundle, t.top_class).urgency);
  } else {
    const name = cardName(classOf(bundle, t.top_class), lang);
    wording = { name, plain_name: name, description: rt.no_care_text, appearance: "", care: [rt.no_care_text],
      warning_signs: [], see_doctor: label };
    ownLevel = level;
  }
  if (t.uncertain) {
    wording.see_doctor = t.reasons.includes("low-confidence") ? format(rt.uncertain, { pct: Math.max(...probs) })
      : rt.unfamiliar;
  } else if (level > ownLevel) {
    wording.see_doctor = format(rt.raised, { name: wording.plain_name, pct: t.malignant_score, label });
  }
  if ((t.uncertain || level > ownLevel) && classOf(bundle, t.top_class).urgency === "routine") {  // as the Advisor
    wording.description = format(rt.checked_description, { name: wording.plain_name });
    wording.care = [rt.care_checked];
  }
  const top3 = order(probs).slice(0, 3).map((i) => {
    const code = bundle.classes[i].code, [name, plainName] = names(code, lang, bundle);
    return { code, name, plain_name: plainName, probability: probs[i] };
  });
  return {
    code: t.top_class, ...wording, lang, urgency: t.urgency, urgency_label: label,
    see_a_doctor: level >= 1 || t.uncertain, uncertain: t.uncertain, malignant_score: t.malignant_score,
    triage_reasons: [...t.reasons], reasons: explain(t, probs, lang, candidates, bundle, tables), top3,
    candidates: [...candidates], source: "knowledge_base", llm_model: null, fallback_reason: null,
    disclaimer: kb.disclaimer, sources: [...kb.sources],
  };
}

/** Advisor.undecided_message: why no result came in time, what to do, and see a doctor if worried. */
export function undecidedMessage(reason, rivals, lang, bundle, tables) {
  const [a, b] = [...rivals.map((c) => names(c, lang, bundle)[1]), "?", "?"];
  const key = reason !== "changing" || rivals.length > 1 ? `undecided.${reason}` : "undecided.unsure";
  return `${text(tables, lang, key, { a, b })} ${text(tables, lang, "undecided.worried")}`;
}
