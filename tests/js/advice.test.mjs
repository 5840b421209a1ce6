// advice.js against advice/triage.py and the Advisor: triage, top classes, knowledge-base advice, undecided messages.
import test from "node:test";

import { knowledgeAdvice, topClasses, triage, undecidedMessage } from "../../src/skindoctor/web/static/ondevice/advice.js";
import { agree, differences, golden } from "./parity.mjs";

const { bundle, tables } = golden("bundle.json");
const { extra, cases } = golden("advice.json");
const withExtra = { ...bundle, classes: [...bundle.classes, ...extra] };  // a card with classes nobody describes

test("triage, top classes and knowledge-base advice, every language", () => {
  const wrong = cases.flatMap(({ in: c, out: py }, i) => {
    const b = c.extra ? withExtra : bundle, at = `case ${i} (${c.lang}${c.extra ? ", extra classes" : ""})`;
    return [
      ...differences(py.triage, triage(c.probs, c.not_lesion, b, c.lang), `${at} triage`),
      ...differences(py.top, topClasses(c.probs, 4, c.lang, b), `${at} top`),
      ...differences(py.advice, knowledgeAdvice(c.probs, c.lang, c.not_lesion, c.candidates, b, tables), `${at} advice`),
    ];
  });
  agree(wrong);
});

test("undecided messages, every language", () => {
  const { cases: messages } = golden("undecided.json");
  const wrong = messages.flatMap(({ in: c, out: py }, i) => differences(py,
    undecidedMessage(c.reason, c.rivals, c.lang, bundle, tables), `case ${i} (${c.lang}, ${c.reason})`));
  agree(wrong);
});
