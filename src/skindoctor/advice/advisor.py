"""Care guidance for a confirmed diagnosis: rules decide urgency, the knowledge base gives the text,
and an LLM (when one answers well in time) rewords it. The answer says which source it used."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel

from ..i18n import text
from ..labels import LesionClass, Urgency
from .knowledge import Knowledge, class_names, load_knowledge
from .llm import LLMError, OllamaClient, OpenAICompatibleClient
from .triage import Triage, TriageRules, triage
from .validate import SCHEMA, Reference, Rejected, validate_answer

log = logging.getLogger(__name__)
DOCTOR = 1  # the outcome group of the classes our rules send to a doctor

class Candidate(BaseModel):
    code: str
    name: str  # the medical term
    plain_name: str
    probability: float


class Advice(BaseModel):
    code: str
    name: str  # the medical term
    plain_name: str  # plain, non-alarming words, shown first with the term beside
    lang: str
    description: str
    appearance: str
    care: list[str]
    warning_signs: list[str]
    see_doctor: str
    urgency: Literal["routine", "weeks", "prompt"]
    urgency_label: str
    see_a_doctor: bool
    uncertain: bool
    malignant_score: float
    triage_reasons: list[str]  # machine-readable rule names that fired
    reasons: list[str]  # the same rules in plain words, for the person
    top3: list[Candidate]
    candidates: list[str] = []  # classes the hold alternated between (same outcome), best first
    source: Literal["knowledge_base", "llm"]
    llm_model: str | None = None
    fallback_reason: str | None = None
    disclaimer: str
    sources: list[str]

    def as_text(self) -> str:
        lines = [f"{self.name} — {self.urgency_label}", "", self.description, ""]
        lines += [f"  • {c}" for c in self.care]
        source = self.source + (f": {self.llm_model}" if self.llm_model else "")
        if self.fallback_reason:
            source += f" — LLM not used: {self.fallback_reason}"
        lines += ["", self.see_doctor, "", f"[{source}]", self.disclaimer]
        return "\n".join(lines)


def client_from_settings(settings):
    """The configured LLM client, or None when the LLM is switched off."""
    if settings.llm_provider == "none":
        return None
    if settings.llm_provider == "ollama":
        return OllamaClient(settings.ollama_host, settings.llm_model, timeout=settings.llm_timeout)
    return OpenAICompatibleClient(settings.llm_base_url, settings.llm_model, api_key=settings.llm_api_key,
                                  mode=settings.llm_api_mode, timeout=settings.llm_timeout)


def reference(advice: Advice, messages: list[dict]) -> Reference:
    """What the LLM's rewording of ``advice`` is checked against: the prompt sent and the entry's texts."""
    return Reference(prompt="\n".join(m["content"] for m in messages),
                     facts=[advice.name, advice.plain_name, advice.description, advice.appearance,
                            " ".join(advice.care), " ".join(advice.warning_signs), advice.see_doctor,
                            advice.urgency_label],
                     name=advice.name, plain_name=advice.plain_name,
                     replaced=" ".join([advice.description, *advice.care, advice.see_doctor]))


class Advisor:
    def __init__(self, classes: list[LesionClass], rules: TriageRules | None = None, client=None,
                 lang: str = "en", use_llm: bool = True):
        self.classes, self.rules, self.client = classes, rules or TriageRules(), client
        self.lang, self.use_llm = lang, use_llm
        self.index = {c.code: i for i, c in enumerate(classes)}

    @classmethod
    def from_settings(cls, card, lang: str | None = None, use_llm: bool | None = None, settings=None) -> Advisor:
        from ..config import get_settings

        settings = settings or get_settings()
        return cls(card.lesion_classes(), TriageRules.from_card(card), client_from_settings(settings),
                   lang or settings.lang,
                   settings.use_llm if use_llm is None else use_llm)

    def one_hot(self, code: str) -> np.ndarray:
        if code not in self.index:
            from ..errors import InputError

            raise InputError(f"unknown class {code!r} (known: {', '.join(self.index)})")
        p = np.zeros(len(self.classes))
        p[self.index[code]] = 1.0
        return p

    def names(self, code: str, kb: Knowledge) -> tuple[str, str]:
        """(medical term, plain name) of a class in the knowledge base's language."""
        return class_names(self.classes[self.index[code]], kb.language)

    def top3(self, probs: np.ndarray, kb: Knowledge) -> list[Candidate]:
        order = np.argsort(-np.asarray(probs), kind="stable")[:3]  # equal ones in class order
        return [Candidate(code=self.classes[i].code, probability=float(probs[i]),
                          **dict(zip(("name", "plain_name"), self.names(self.classes[i].code, kb)))) for i in order]

    def explain(self, t: Triage, probs: np.ndarray, kb: Knowledge, candidates: Sequence[str] = ()) -> list[str]:
        """The rules that fired, in plain words."""
        lines = []
        for reason in t.reasons:
            rule, _, code = reason.partition(":")
            code = code.split(":")[0]
            if rule == "class":
                lines.append(text("reasons.class", kb.language, name=self.names(code, kb)[1]))
                if reason.endswith(":no-knowledge"):
                    lines.append(text("reasons.no-knowledge", kb.language))
            elif rule == "prompt-class":
                lines.append(text("reasons.prompt-class", kb.language, name=self.names(code, kb)[1],
                                  pct=f"{probs[self.index[code]]:.0%}"))
            elif rule == "malignant-score":
                lines.append(text("reasons.malignant-score", kb.language, pct=f"{t.malignant_score:.0%}"))
            elif rule == "low-confidence":
                lines.append(text("reasons.low-confidence", kb.language, pct=f"{float(np.max(probs)):.0%}"))
            else:
                lines.append(text(f"reasons.{rule}", kb.language))
        if len(candidates) > 1:
            names = f" {text('ui.or', kb.language)} ".join(self.names(c, kb)[1] for c in candidates)
            lines.append(text("reasons.candidates", kb.language, names=names))
        return lines

    def rules_set(self, t: Triage, kb: Knowledge) -> bool:
        """Whether a rule, not the class, set this advice: uncertain, or raised above the class's own urgency (a class
        the knowledge base does not describe has only our rule texts anyway). Its words are then ours alone."""
        own = self.classes[self.index[t.top_class]].urgency_level() if kb.entry(t.top_class) else t.urgency
        return t.uncertain or t.urgency > own

    def knowledge_advice(self, probs: np.ndarray, lang: str, not_lesion: float = 0.0,
                         candidates: Sequence[str] = ()) -> tuple[Advice, Triage, Knowledge]:
        kb = load_knowledge(lang)
        t = triage(probs, self.classes, kb, self.rules, not_lesion)
        entry = kb.entry(t.top_class)
        label = kb.uncertain_label if t.uncertain else kb.urgency_labels[t.urgency.name]
        rule_texts, set_by_rules = kb.rule_texts, self.rules_set(t, kb)
        if entry is not None:
            wording = entry.model_dump()
        else:
            name = self.classes[self.index[t.top_class]].name(lang)
            wording = dict(name=name, plain_name=name, description=rule_texts.no_care_text, appearance="",
                           care=[rule_texts.no_care_text], warning_signs=[], see_doctor=label)
        if t.uncertain:
            wording["see_doctor"] = (rule_texts.uncertain.format(pct=float(np.max(probs)))
                                     if "low-confidence" in t.reasons else rule_texts.unfamiliar)
        elif set_by_rules:
            wording["see_doctor"] = rule_texts.raised.format(name=wording["plain_name"], pct=t.malignant_score,
                                                             label=label)
        routine = self.classes[self.index[t.top_class]].urgency_level() == Urgency.routine
        if set_by_rules and routine:  # a routine class's own words may reassure; the rules ask for a doctor
            wording["description"] = rule_texts.checked_description.format(name=wording["plain_name"])
            wording["care"] = [rule_texts.care_checked]
        advice = Advice(code=t.top_class, lang=lang, urgency=t.urgency.name, urgency_label=label,
                        see_a_doctor=t.see_doctor, uncertain=t.uncertain, malignant_score=t.malignant_score,
                        triage_reasons=list(t.reasons), source="knowledge_base", disclaimer=kb.disclaimer,
                        sources=kb.sources, reasons=self.explain(t, probs, kb, candidates),
                        top3=self.top3(probs, kb), candidates=list(candidates), **wording)
        return advice, t, kb

    def _messages(self, advice: Advice, lang: str) -> list[dict]:
        language = load_knowledge(lang).llm.language_name
        system = (f"You write short, kind, plain-language skin-care guidance for a patient, in {language} only. "
                  "Use only the facts given. Never mention medicine names or doses. Never change the urgency: "
                  f"it is fixed as: \"{advice.urgency_label}\". Answer with one JSON object with the keys "
                  "description (2-3 sentences), care (2-5 short items), when_to_see_doctor (1-2 sentences).")
        user = (f"Condition: {advice.name}\nFacts: {advice.description}\nTypical look: {advice.appearance}\n"
                f"Care: {' '.join(advice.care)}\nWarning signs: {' '.join(advice.warning_signs)}\n"
                f"When to see a doctor: {advice.see_doctor}\nUrgency (fixed): {advice.urgency_label}")
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def stream(self, probs: np.ndarray, lang: str | None = None, use_llm: bool | None = None,
               not_lesion: float = 0.0, candidates: Sequence[str] = ()) -> Iterator[dict]:
        """Events: the knowledge-base advice at once, then LLM text as it arrives, then the final advice."""
        lang = lang or self.lang
        advice, t, kb = self.knowledge_advice(np.asarray(probs, dtype=np.float64), lang, not_lesion, candidates)
        yield {"type": "advice", "final": False, "advice": advice}
        use = self.use_llm if use_llm is None else use_llm
        if not use or self.client is None or self.rules_set(t, kb):
            why = "the rules set this advice: our own words" if use and self.client else "LLM switched off"
            yield {"type": "advice", "final": True, "advice": advice.model_copy(update={"fallback_reason": why})}
            return
        chunks: list[str] = []
        messages = self._messages(advice, lang)
        try:
            for chunk in self.client.stream(messages, SCHEMA):
                chunks.append(chunk)
                yield {"type": "llm_delta", "text": chunk}
            answer = validate_answer("".join(chunks), lang, t.urgency, reference(advice, messages))
        except (LLMError, Rejected) as e:
            log.info("LLM advice not used: %s: %s", e.reason, e)
            yield {"type": "advice", "final": True,  # "<reason code>: <what was wrong>"
                   "advice": advice.model_copy(update={"fallback_reason": f"{e.reason}: {e}", "llm_model": None})}
            return
        final = advice.model_copy(update={
            "description": answer.description, "care": answer.care, "see_doctor": answer.when_to_see_doctor
            if not (t.uncertain or "malignant-score" in t.reasons) else advice.see_doctor,
            "source": "llm", "llm_model": self.client.name})
        yield {"type": "advice", "final": True, "advice": final}

    def advise_probs(self, probs: np.ndarray, lang: str | None = None, use_llm: bool | None = None,
                     not_lesion: float = 0.0, candidates: Sequence[str] = ()) -> Advice:
        final = None
        for event in self.stream(probs, lang, use_llm, not_lesion, candidates):
            if event["type"] == "advice":
                final = event["advice"]
        return final

    def advise(self, code: str, lang: str | None = None, use_llm: bool | None = None) -> Advice:
        return self.advise_probs(self.one_hot(code), lang, use_llm)

    def undecided_message(self, reason: str, rivals: Sequence[str], lang: str) -> str:
        """Why the camera gave no result in time, what to do, and the reminder to see a doctor if worried."""
        kb = load_knowledge(lang)
        a, b = ([self.names(c, kb)[1] for c in rivals] + ["?", "?"])[:2]
        key = f"undecided.{reason}" if reason != "changing" or len(rivals) > 1 else "undecided.unsure"
        return f"{text(key, lang, a=a, b=b)} {text('undecided.worried', lang)}"

    def outcome_groups(self) -> tuple[int, ...]:
        """Per class: ``DOCTOR`` if our rules send a sure case of it to a doctor, else 0 (what the live hold must agree
        on; ``DOCTOR`` is also the group it settles on when the answer keeps changing into it)."""
        kb = load_knowledge("en")
        return tuple(DOCTOR if triage(self.one_hot(c.code), self.classes, kb, self.rules).see_doctor else 0
                     for c in self.classes)
