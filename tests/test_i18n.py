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
