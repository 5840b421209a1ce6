// Urgency and care text in the browser: ports of advice/triage.py and Advisor.knowledge_advice / explain /
// undecided_message (advice/advisor.py). Rules decide urgency; the knowledge base (bundle.knowledge) gives the
// words; the message tables (tables[lang], from /api/v1/messages) give the reasons. The answer equals the server's
// Advice for the same probabilities, field for field.
"use strict";

const LEVELS = ["routine", "weeks", "prompt"];

function lookup(tables, lang, key) {  // i18n.text's table lookup: the language, then English
  for (const l of [lang, "en"]) {
    const v = key.split(".").reduce((node, part) => (node && typeof node === "object" ? node[part] : undefined), tables[l]);
    if (typeof v === "string") return v;
  }
  throw new Error(`no text for ${key}`);
}

export function percent(x) {  // Python's f"{x:.0%}": x·100 rounded half to even
  const v = x * 100, f = Math.floor(v), d = v - f;
  return `${d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1}%`;
}

function format(template, values) {  // str.format for {key} and {key:.0%}
  return template.replace(/\{(\w+)(:\.0%)?\}/g, (_, key, pct) => (pct ? percent(values[key]) : String(values[key])));
}
const text = (tables, lang, key, values) => {
  const raw = lookup(tables, lang, key);
  return values ? format(raw, values) : raw;
};

function names(code, lang, bundle) {  // (medical term, plain name): the knowledge base's, else the card's own
  const entry = bundle.knowledge[lang].classes[code];
  if (entry) return [entry.name, entry.plain_name];
  const cls = bundle.classes.find((c) => c.code === code);
  const name = cls.names[lang] || cls.names.en || code;
  return [name, name];
}

const argmax = (xs) => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);

/** triage.triage: urgency from rules on calibrated lesion-class probabilities. */
export function triage(probs, notLesion, bundle, lang = "en") {
  const classes = bundle.classes, rules = bundle.triage, kb = bundle.knowledge[lang];
  const top = argmax(probs), topCode = classes[top].code, entry = kb.classes[topCode];
  let urgency, reasons;
  if (entry) { urgency = LEVELS.indexOf(entry.urgency); reasons = [`class:${topCode}`]; }
  else { urgency = classes[top].can_be_malignant ? 1 : 0; reasons = [`class:${topCode}:no-knowledge`]; }
  const malignantScore = probs.reduce((sum, p, i) => sum + (classes[i].can_be_malignant ? p : 0), 0);
  if (malignantScore >= rules.malignant_threshold && urgency < 1) { urgency = 1; reasons.push("malignant-score"); }
  probs.forEach((p, i) => {
    const e = kb.classes[classes[i].code];
    if (e && e.urgency === "prompt" && p >= rules.prompt_class_threshold && urgency < 2) {
      urgency = 2;
      reasons.push(`prompt-class:${classes[i].code}`);
    }
  });
  let uncertain = false;
  if (probs[top] < rules.uncertain_below) { uncertain = true; reasons.push("low-confidence"); }
  if (notLesion >= rules.unfamiliar_above) { uncertain = true; reasons.push("unfamiliar-picture"); }
  if (uncertain) urgency = Math.max(urgency, 1);
  return { top_class: topCode, urgency: LEVELS[urgency], level: urgency, malignant_score: malignantScore, uncertain, reasons };
}

function explain(t, probs, lang, candidates, bundle, tables) {  // Advisor.explain: the rules that fired, in words
  const index = (code) => bundle.classes.findIndex((c) => c.code === code);
  const lines = [];
  for (const reason of t.reasons) {
    const [rule, ...rest] = reason.split(":"), code = rest[0];
    if (rule === "class") {
      lines.push(text(tables, lang, "reasons.class", { name: names(code, lang, bundle)[1] }));
      if (reason.endsWith(":no-knowledge")) lines.push(text(tables, lang, "reasons.no-knowledge"));
    } else if (rule === "prompt-class") {
      lines.push(text(tables, lang, "reasons.prompt-class", { name: names(code, lang, bundle)[1], pct: percent(probs[index(code)]) }));
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

/** Advisor.knowledge_advice(probs, lang, not_lesion, candidates)[0], as the server serialises it. */
export function knowledgeAdvice(probs, lang, notLesion, candidates, bundle, tables) {
  probs = Array.from(probs, Number);
  const kb = bundle.knowledge[lang], t = triage(probs, notLesion, bundle, lang);
  const entry = kb.classes[t.top_class];
  const label = t.uncertain ? kb.uncertain_label : kb.urgency_labels[t.urgency];
  const rt = kb.rule_texts;
  let wording, own;
  if (entry) {
    const { urgency, ...rest } = entry;
    wording = { ...rest, care: [...rest.care], warning_signs: [...rest.warning_signs] };
    own = LEVELS.indexOf(urgency);
  } else {
    const name = names(t.top_class, lang, bundle)[0];
    wording = { name, plain_name: name, description: rt.no_care_text, appearance: "", care: [rt.no_care_text],
      warning_signs: [], see_doctor: label };
    own = t.level;
  }
  if (t.uncertain) {
    wording.see_doctor = t.reasons.includes("low-confidence") ? format(rt.uncertain, { pct: Math.max(...probs) }) : rt.unfamiliar;
  } else if (t.level > own) {
    wording.see_doctor = format(rt.raised, { name: wording.plain_name, pct: t.malignant_score, label });
  }
  const order = probs.map((p, i) => i).sort((a, b) => probs[b] - probs[a] || a - b).slice(0, 3);
  const top3 = order.map((i) => {
    const code = bundle.classes[i].code, [name, plain] = names(code, lang, bundle);
    return { code, name, plain_name: plain, probability: probs[i] };
  });
  return {
    code: t.top_class, name: wording.name, plain_name: wording.plain_name, lang, description: wording.description,
    appearance: wording.appearance, care: wording.care, warning_signs: wording.warning_signs,
    see_doctor: wording.see_doctor, urgency: t.urgency, urgency_label: label, see_a_doctor: t.level >= 1 || t.uncertain,
    uncertain: t.uncertain, malignant_score: t.malignant_score, triage_reasons: t.reasons,
    reasons: explain(t, probs, lang, candidates, bundle, tables), top3, candidates: [...candidates],
    source: "knowledge_base", llm_model: null, fallback_reason: null, disclaimer: kb.disclaimer, sources: [...kb.sources],
  };
}

/** Advisor.undecided_message: why no result came in time, what to do, and see a doctor if worried. */
export function undecidedMessage(reason, rivals, lang, bundle, tables) {
  const [a, b] = [...rivals.map((c) => names(c, lang, bundle)[1]), "?", "?"];
  const key = reason !== "changing" || rivals.length > 1 ? `undecided.${reason}` : "undecided.unsure";
  return `${text(tables, lang, key, { a, b })} ${text(tables, lang, "undecided.worried")}`;
}
