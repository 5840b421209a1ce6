"""How often a real LLM's wording reaches a person → docs/llm_acceptance.md.

Every class × English/Korean × the OpenAI-compatible server's completion and chat modes, through the
product's own path (``Advisor.stream`` and its client, the answer cut off at the time limit): the local
Gemma 3 270M GGUF served by llama.cpp on 127.0.0.1 (as tests/test_llm_real.py serves it), and each model
of an Ollama server at OLLAMA_HOST when one is reachable. Each answer is also judged by the rule before
this one (the JSON between the first "{" and the last "}", strict; language, dosing and urgency only).

    python bench/llm_acceptance.py [--timeout 20] [--max-tokens 256] [--budget 570] [--out docs/llm_acceptance.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from skindoctor.advice.advisor import Advisor
from skindoctor.advice.llm import OllamaClient, OpenAICompatibleClient
from skindoctor.advice.validate import LLMAdvice, check_answer
from skindoctor.config import get_settings
from skindoctor.labels import HAM10000_CLASSES

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.llama_server import ALIAS, THREADS, gguf_path, llama_server  # noqa: E402  (the real-model tests' server)

CLASSES = list(HAM10000_CLASSES)
LANGS = ("en", "ko")


def old_rule(text: str, lang: str, urgency) -> str:
    """The verdict of the checks before this change: "accepted" or "refused"."""
    start, end = text.find("{"), text.rfind("}")
    try:
        check_answer(LLMAdvice.model_validate(json.loads(text[start:end + 1])), lang, urgency)
    except ValueError:  # JSONDecodeError, ValidationError and Rejected all are
        return "refused"
    return "accepted"


def ask(advisor: Advisor, code: str, lang: str) -> dict:
    """One answer through the product's path: the verdict now and by the old rule, seconds, what was shown."""
    start = time.monotonic()
    events = list(advisor.stream(advisor.one_hot(code), lang))
    seconds = time.monotonic() - start
    final, raw = events[-1]["advice"], "".join(e["text"] for e in events if e["type"] == "llm_delta")
    reason = "accepted" if final.source == "llm" else final.fallback_reason.split(":")[0]
    urgency = advisor.knowledge_advice(advisor.one_hot(code), lang)[1].urgency
    old = "refused" if reason in ("timeout", "http", "stream", "unreachable") else old_rule(raw, lang, urgency)
    return {"code": code, "lang": lang, "seconds": seconds, "reason": reason, "old": old, "raw": raw,
            "why": final.fallback_reason, "shown": final.description if final.source == "llm" else None}


def ollama_models(host: str) -> list[str] | None:
    host = host if host.startswith("http") else f"http://{host}"
    try:
        return [m["name"] for m in httpx.get(host + "/api/tags", timeout=2).json().get("models", [])]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def run(clients: list[tuple[str, str, object]], budget_end: float, timeout: float) -> list[dict]:
    """Every class × language × (model, mode); an answer that could overrun the budget is skipped."""
    rows = []
    for code in (c.code for c in CLASSES):
        for lang in LANGS:
            for model, mode, client in clients:
                row = {"model": model, "mode": mode}
                if time.monotonic() + timeout + 5 > budget_end:
                    rows.append(row | {"code": code, "lang": lang, "reason": "skipped", "old": "skipped"})
                    continue
                rows.append(row | ask(Advisor(CLASSES, client=client), code, lang))
                print(f"{model} {mode} {code} {lang}: {rows[-1]['reason']} ({rows[-1]['seconds']:.1f} s)", flush=True)
    return rows


def _quote(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return (text[:limit] + " …") if len(text) > limit else text


def report(rows: list[dict], ollama: str, args, wall: float) -> str:
    lines = ["# LLM wording: how often it reaches a person", "",
             f"`python bench/llm_acceptance.py --timeout {args.timeout:g} --max-tokens {args.max_tokens}` on "
             f"{platform.machine()}, {os.cpu_count()} CPU cores, load average {args.load:.1f} at the start and "
             f"{os.getloadavg()[0]:.1f} at the end ({time.strftime('%Y-%m-%d')}); {wall:.0f} s in all. "
             "Each answer goes through the product's path (`Advisor.stream`): the client "
             f"stops at the time limit ({args.timeout:g} s, the settings' `llm_timeout`), then the answer is "
             "validated (`skindoctor.advice.validate`); anything refused shows the knowledge base's text and "
             "records `fallback_reason` = `<reason>: <what was wrong>`.", "",
             f"Models: {ALIAS} (Gemma 3 270M base, Q4_K_M GGUF, llama-cpp-python's OpenAI-compatible server on "
             f"127.0.0.1, {THREADS} thread{'s' if THREADS > 1 else ''}); Ollama at {ollama}.", "",
             "| Model | Mode | Language | Answers | Accepted | Refused, by reason | Old rule accepted | "
             "Median s | Max s |", "|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["mode"], r["lang"]), []).append(r)
    for (model, mode, lang), group in groups.items():
        done = [r for r in group if r["reason"] != "skipped"]
        reasons = Counter(r["reason"] for r in done if r["reason"] != "accepted")
        secs = [r["seconds"] for r in done]
        times = f"{statistics.median(secs):.1f} | {max(secs):.1f}" if secs else "— | —"
        lines.append(f"| {model} | {mode} | {lang} | {len(done)} | {sum(r['reason'] == 'accepted' for r in done)} "
                     f"| {', '.join(f'{k} {v}' for k, v in reasons.most_common()) or '—'} "
                     f"| {sum(r['old'] == 'accepted' for r in group)} | {times} |")
    done = [r for r in rows if r["reason"] != "skipped"]
    total = Counter(r["reason"] for r in done)
    skipped = len(rows) - len(done)
    lines += ["", f"In all: {total['accepted']} of {len(done)} answers accepted now, "
              f"{sum(r['old'] == 'accepted' for r in done)} by the old rule; refusals: "
              f"{', '.join(f'{k} {v}' for k, v in total.most_common() if k != 'accepted') or 'none'}"
              f"{f'; {skipped} not asked (the time budget was spent)' if skipped else ''}.", ""]
    accepted = [r for r in done if r["reason"] == "accepted"][:3]
    lines += ["## Accepted answers", ""]
    lines += [f"- {r['model']} {r['mode']}, {r['code']}/{r['lang']}: “{_quote(r['shown'])}”" for r in accepted] or [
        "None: no answer was better than the knowledge base's text."]
    flipped = [r for r in done if r["old"] == "accepted" and r["reason"] != "accepted"]
    refused = (flipped + [r for r in done if r["raw"] and r not in flipped and r["reason"] != "accepted"])[:3]
    lines += ["", "## Refused answers (raw model output, and why)", ""]
    lines += [f"- {r['model']} {r['mode']}, {r['code']}/{r['lang']}"
              f"{' (accepted by the old rule)' if r in flipped else ''}: “{_quote(r['raw'])}” → `{r['why']}`"
              for r in refused] or ["None."]
    lines += ["", "## Reasons", "",
              "`timeout` the answer was not complete within the time limit; `no-json` no JSON object; `schema` "
              "missing or mis-sized fields; `language` not mostly in the requested script; `dosing`, "
              "`reassurance`, `alarm` the safety checks; `echo` five or more words in a row from our "
              "instructions; `title` a heading, not a sentence; `length` under 30 % or over 150 % of the text it "
              "replaces; `terms` the condition or a doctor not named; `ungrounded` a number, a medical-looking "
              "word or too many other words our entry does not have.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=get_settings().llm_timeout, help="seconds per answer")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--budget", type=float, default=570, help="seconds for the whole run, server start included")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "llm_acceptance.md")
    args = ap.parse_args()
    start, args.load = time.monotonic(), os.getloadavg()[0]
    host = os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434")
    models = ollama_models(host)
    ollama = f"{host}: not reachable" if models is None else f"{host}: {', '.join(models) or 'no models'}"
    print(f"Ollama at {ollama}", flush=True)
    kw = {"timeout": args.timeout, "max_tokens": args.max_tokens}
    with tempfile.TemporaryDirectory() as tmp, llama_server(gguf_path(), Path(tmp) / "server.log") as url:
        clients = [(ALIAS, m, OpenAICompatibleClient(url, ALIAS, mode=m, **kw)) for m in ("completion", "chat")]
        clients += [(m, "ollama", OllamaClient(host, m, **kw)) for m in models or []]
        rows = run(clients, start + args.budget, args.timeout)
    args.out.write_text(report(rows, ollama, args, time.monotonic() - start), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
