"""One message file per language: the same keys everywhere, placeholders that fill, and the fallback."""

import string

import pytest

from skindoctor import i18n


def keys(node, prefix=""):
    if isinstance(node, dict):
        return {k for key, value in node.items() for k in keys(value, f"{prefix}{key}.")}
    return {prefix[:-1]}


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@pytest.mark.parametrize("lang", [code for code in i18n.LANGUAGES if code != "en"])
def test_every_language_has_every_text_with_the_same_placeholders(lang):
    en, other = i18n.table("en"), i18n.table(lang)
    assert keys(other) == keys(en)
    for key in keys(en):
        assert fields(i18n.text(key, lang)) == fields(i18n.text(key, "en")), key


def test_every_quality_reason_has_camera_and_upload_wording_that_differ():
    en = i18n.table("en")
    assert set(en["quality"]) == set(en["upload"])
    assert all(en["quality"][k] != en["upload"][k] for k in en["quality"])


def test_text_fills_placeholders_and_unknown_languages_fall_back_to_english():
    assert "Mole" in i18n.text("reasons.class", "en", name="Mole")
    assert i18n.text("ui.startOver", "xx") == "Start over"
    assert i18n.language("xx") == "en" and i18n.language("ko") == "ko"
    with pytest.raises(KeyError):
        i18n.text("ui.no_such_text")


@pytest.mark.parametrize("lang", [code for code in i18n.LANGUAGES if code != "en"])
def test_every_knowledge_file_has_the_rule_texts_with_the_same_placeholders(lang):
    from skindoctor.advice.knowledge import load_knowledge

    en, other = load_knowledge("en").rule_texts.model_dump(), load_knowledge(lang).rule_texts.model_dump()
    assert {k: fields(v) for k, v in other.items()} == {k: fields(v) for k, v in en.items()}


def test_class_names_come_from_the_knowledge_base_or_the_cards_own_names():
    from skindoctor.advice.knowledge import class_names
    from skindoctor.labels import CATALOGUE, resolve_classes

    assert class_names(CATALOGUE["mel"], "ko") == ("흑색종", class_names(CATALOGUE["mel"], "ko")[1])
    assert class_names(CATALOGUE["mel"], "en")[0] == "Melanoma"
    wart, old = resolve_classes([{"code": "wart", "can_be_malignant": False, "names": {"en": "Wart", "ko": "사마귀"}},
                                 {"code": "scc", "can_be_malignant": True, "name_en": "SCC", "name_ko": "편평세포암"}])
    assert class_names(wart, "ko") == ("사마귀", "사마귀") and wart.name("xx") == "Wart"  # English when it has no name
    assert old.names == {"en": "SCC", "ko": "편평세포암"}  # cards written with name_<lang> keys still read


NEW_LANGUAGE_CHECK = """
import json
import numpy as np
from skindoctor import i18n
from skindoctor.advice.advisor import Advisor
from skindoctor.labels import Urgency
from skindoctor.advice.validate import LLMAdvice, Rejected, check_answer
from skindoctor.config import Settings
from skindoctor.labels import HAM10000_CLASSES

advisor = Advisor(list(HAM10000_CLASSES), use_llm=False)
advice = advisor.advise("mel", lang="es")
korean = LLMAdvice(description="흑색종은 피부암의 한 종류입니다. 빨리 진료를 받으세요.", care=["햇볕을 피하세요."],
                   when_to_see_doctor="며칠 안에 의사에게 가세요.")
try:
    check_answer(korean, "es", Urgency.prompt)
    rejected = None
except Rejected as e:
    rejected = str(e)
print(json.dumps({"file": i18n.__file__, "languages": i18n.LANGUAGES, "name": advice.name,
                  "label": advice.urgency_label,
                  "button": i18n.text("ui.startOver", "es"), "settings": Settings(lang="es").lang,
                  "prompt": advisor._messages(advice, "es")[0]["content"], "rejected": rejected}))
"""


def test_a_new_language_is_one_message_file_and_one_knowledge_file(tmp_path):
    """Copy the package, add Spanish as exactly two files, and the advice, texts, settings and checks speak it."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    package = Path(i18n.__file__).parent
    copy = tmp_path / "skindoctor"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    messages = i18n.table("en") | {"language": "es", "name": "Español"}
    messages["ui"] = messages["ui"] | {"startOver": "Empezar de nuevo"}
    (copy / "messages/es.yaml").write_text(yaml.safe_dump(messages, allow_unicode=True), encoding="utf-8")
    knowledge = yaml.safe_load((package / "advice/knowledge/en.yaml").read_text(encoding="utf-8"))
    knowledge["language"] = "es"
    knowledge["urgency_labels"]["prompt"] = "Consulte a un médico pronto"
    knowledge["classes"]["mel"]["name"] = "Melanoma (es)"
    knowledge["llm"] |= {"language_name": "Spanish (español)", "min_script_share": 0.95}
    (copy / "advice/knowledge/es.yaml").write_text(yaml.safe_dump(knowledge, allow_unicode=True), encoding="utf-8")

    out = subprocess.run([sys.executable, "-c", NEW_LANGUAGE_CHECK], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert Path(got["file"]).is_relative_to(copy)  # the copy ran, not the checkout
    assert "es" in got["languages"] and got["settings"] == "es" and got["button"] == "Empezar de nuevo"
    assert got["name"] == "Melanoma (es)" and got["label"] == "Consulte a un médico pronto"
    assert "in Spanish (español) only" in got["prompt"]
    assert got["rejected"] == "answer is not in Spanish (español)"
