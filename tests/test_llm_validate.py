"""The checks on an LLM's wording, one rule at a time: each refusal below would pass if its rule were removed,
and faithful rewordings of every class in every language pass them all."""

import json

import pytest

from skindoctor.advice.advisor import Advisor, reference
from skindoctor.advice.validate import Rejected, parse_answer, validate_answer
from skindoctor.labels import HAM10000_CLASSES

ADVISOR = Advisor(list(HAM10000_CLASSES), use_llm=False)

# What a capable model asked for a plain rewording might write: the entry's facts in other words.
REWORDINGS = {
    ("akiec", "en"): {
        "description": "Actinic keratosis is a rough, scaly patch that comes from years of sun exposure, often on the "
                       "face, scalp, ears or hands. A small share can turn into skin cancer, so it should be assessed.",
        "care": ["Protect your skin from the sun with shade, a hat and SPF 30+ sunscreen.",
                 "Do not pick or scratch the patch.", "Check your skin regularly for new or changing patches."],
        "when_to_see_doctor": "See a dermatologist or your doctor within a few weeks; effective treatments exist."},
    ("bcc", "en"): {
        "description": "Basal cell carcinoma is the most common skin cancer. It grows slowly and very rarely spreads, "
                       "but it can keep growing into the skin around it, so it needs treatment.",
        "care": ["Protect the area from the sun.",
                 "Keep a sore clean and covered and do not try to remove it yourself.",
                 "Take a dated photo to help the doctor see changes."],
        "when_to_see_doctor": "See a dermatologist within a few weeks to have it examined and removed if confirmed."},
    ("bkl", "en"): {
        "description": "A benign keratosis is a harmless growth of the top layer of the skin that is very common "
                       "with age. It does not turn into cancer, but some can look like melanoma.",
        "care": ["No treatment is needed, though it can be removed for comfort.",
                 "Avoid picking or scratching it.", "Protect your skin from the sun."],
        "when_to_see_doctor": "Mention it at a routine visit, and see a doctor sooner if it changes."},
    ("df", "en"): {
        "description": "A dermatofibroma is a common, harmless firm bump in the skin, often on the legs. It does not "
                       "turn into cancer and usually stays the same for years.",
        "care": ["No treatment is needed.", "Take care when shaving over it to avoid cuts."],
        "when_to_see_doctor": "Mention it at a routine visit; see a doctor if it grows or changes."},
    ("mel", "en"): {
        "description": "Melanoma is a serious skin cancer of the pigment cells. It can spread, but when it is found "
                       "and removed early it is usually curable.",
        "care": ["Book an appointment with a doctor soon.", "Do not scratch, shave or try to remove it.",
                 "Take a dated photo with a ruler beside it."],
        "when_to_see_doctor": "See a doctor promptly, within days, and ask for a skin check by a dermatologist."},
    ("nv", "en"): {
        "description": "A mole is a common, harmless cluster of pigment cells, and most adults have many. Very few "
                       "ever become melanoma, so the main thing is to notice change.",
        "care": ["Check your moles every few months; photos help.", "Protect your skin from the sun.",
                 "Avoid picking or shaving over a raised mole."],
        "when_to_see_doctor": "A stable mole needs no visit; see a doctor if it changes or shows a warning sign."},
    ("vasc", "en"): {
        "description": "This vascular lesion is a spot made of small blood vessels, such as a cherry angioma. Most "
                       "are harmless and they are very common from middle age.",
        "care": ["A stable spot needs no treatment.", "If it bleeds, press gently with a clean cloth for 10 minutes.",
                 "Avoid catching it when shaving."],
        "when_to_see_doctor": "Mention it at a routine visit; see a doctor sooner if it bleeds often or grows "
                              "quickly."},
    ("akiec", "ko"): {
        "description": "광선각화증은 오랜 햇빛 노출로 생기는 거칠고 각질이 있는 반점입니다. 일부는 편평세포암으로 "
                       "진행할 수 있어 진찰과 치료가 필요합니다.",
        "care": ["그늘, 모자, 자외선 차단제로 햇빛을 피하세요.", "반점을 뜯거나 긁지 마세요.",
                 "새로 생기거나 변하는 반점을 살펴보세요."],
        "when_to_see_doctor": "몇 주 안에 피부과에서 진료를 받으세요. 효과적인 치료가 있습니다."},
    ("bcc", "ko"): {
        "description": "기저세포암은 가장 흔한 피부암으로 천천히 자랍니다. 다른 장기로 퍼지는 일은 매우 드물지만 "
                       "그대로 두면 주변 조직으로 계속 자랄 수 있습니다.",
        "care": ["이 부위를 햇빛으로부터 보호하세요.", "상처는 깨끗하게 덮어 두고 스스로 제거하지 마세요."],
        "when_to_see_doctor": "몇 주 안에 피부과 전문의에게 진찰을 받으세요."},
    ("df", "ko"): {
        "description": "피부섬유종은 흔하고 해롭지 않은 단단한 결절로 주로 다리에 생깁니다. 암으로 변하지 않으며 보통 "
                       "수년간 그대로 있습니다.",
        "care": ["치료가 필요하지 않습니다.", "면도할 때 베이지 않도록 조심하세요."],
        "when_to_see_doctor": "정기 진료 때 말씀하시고, 커지거나 변하면 진료를 받으세요."},
    ("mel", "ko"): {
        "description": "흑색종은 색소세포에서 생기는 심각한 피부암입니다. 일찍 발견해 제거하면 대부분 완치할 수 "
                       "있으니 빨리 진찰을 받아야 합니다.",
        "care": ["기다리지 말고 진료 예약을 하세요.", "긁거나 스스로 제거하지 마세요.",
                 "자를 옆에 두고 사진을 찍어 두세요."],
        "when_to_see_doctor": "며칠 안에 진료를 받고 피부과 전문의의 피부 검사를 요청하세요."},
    ("nv", "ko"): {
        "description": "점은 색소세포가 모인 흔하고 해롭지 않은 병변입니다. 흑색종으로 변하는 경우는 매우 드물어 "
                       "변화를 알아차리는 것이 가장 중요합니다.",
        "care": ["몇 달마다 점을 살펴보고 사진을 찍어 두세요.", "햇빛을 피하세요.",
                 "솟은 점은 뜯거나 면도하지 마세요."],
        "when_to_see_doctor": "점이 변하거나 경고 징후가 보이면 진료를 받으세요."},
}


def check(code: str, lang: str, answer: dict | str) -> str:
    """"accepted", or the reason code of the refusal."""
    advice, t, _ = ADVISOR.knowledge_advice(ADVISOR.one_hot(code), lang)
    text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
    try:
        validate_answer(text, lang, t.urgency, reference(advice, ADVISOR._messages(advice, lang)))
    except Rejected as e:
        return e.reason
    return "accepted"


@pytest.mark.parametrize("code,lang", list(REWORDINGS))
def test_faithful_rewordings_are_accepted(code, lang):
    assert check(code, lang, REWORDINGS[code, lang]) == "accepted"


def test_json_is_found_in_prose_and_fences_with_raw_control_characters():
    answer = REWORDINGS["df", "en"]
    raw = json.dumps(answer).replace("firm bump", "firm\nbump").replace("legs.", "legs.\t")
    text = f"Sure! Here is the JSON {{as asked}}:\n```json\n{raw}\n```\nI hope this helps {{}}."
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)  # strict JSON refuses a raw newline inside a string
    parsed = parse_answer(text)
    assert parsed.description.startswith("A dermatofibroma is a common, harmless firm bump")  # squashed to a space
    assert check("df", "en", text) == "accepted"


def test_no_json_and_cut_json():
    assert check("df", "en", "A dermatofibroma is harmless.") == "no-json"
    assert check("df", "en", json.dumps(REWORDINGS["df", "en"])[:-30]) == "no-json"


def test_prompt_echo_is_refused():
    """The 270M model's answer that passed the old checks: our instructions back as the description."""
    echo = dict(REWORDINGS["df", "en"], description="This is a skin care guidance for the patient, in English only. "
                "Use only the facts given. Never change the urgency: it is fixed as: ")
    assert check("df", "en", echo) == "echo"
    # the entry's own words are no echo, although the prompt holds them too
    own_words = "Dermatofibroma is a common, harmless firm bump in the skin, often on the legs."
    assert check("df", "en", dict(REWORDINGS["df", "en"], description=own_words)) == "accepted"


@pytest.mark.parametrize("field,value", [
    ("description", "Skin care advice for dermatofibroma"),  # the 270M model's bare title, passed before
    ("description", "Dermatofibroma: a common harmless firm bump in the skin"),  # no sentence
    ("when_to_see_doctor", "See a doctor."),
])
def test_titles_are_refused(field, value):
    assert check("df", "en", dict(REWORDINGS["df", "en"], **{field: value})) == "title"


def test_length_far_from_ours_is_refused():
    short = {"description": "A dermatofibroma is a harmless bump.", "care": ["No treatment is needed."],
             "when_to_see_doctor": "See a doctor if it changes."}
    assert check("df", "en", short) == "length"
    long = dict(REWORDINGS["df", "en"], care=["Take care when shaving over it to avoid cuts, and keep it clean."] * 6)
    assert check("df", "en", long) == "length"


def test_the_condition_and_the_doctor_must_be_named():
    unnamed = dict(REWORDINGS["df", "en"], description=REWORDINGS["df", "en"]["description"]
                   .replace("A dermatofibroma", "This"))
    assert check("df", "en", unnamed) == "terms"
    no_doctor = dict(REWORDINGS["df", "en"], when_to_see_doctor="Mention it at a routine visit if it grows.")
    assert check("df", "en", no_doctor) == "terms"


@pytest.mark.parametrize("code,lang,field,value", [
    ("df", "en", "care", ["No treatment is needed.", "Apply hydrocortisone to the bump each night."]),  # a drug
    ("df", "en", "description", "A dermatofibroma is a firm bump in the skin that affects 25 percent of adults "
                                "and does not turn into cancer."),  # a number the entry lacks
    ("vasc", "en", "description", "This vascular lesion is a spot of small blood vessels that can be a cancer, "
                                  "such as a cherry angioma."),  # a diagnosis the entry lacks
    ("df", "en", "description", "A dermatofibroma is a firm bump that mostly appears after a bicycle accident or "
                                "gardening in warm climates, usually around springtime."),  # invented facts
    ("df", "ko", "care", ["치료가 필요하지 않습니다.", "스테로이드 연고를 바르세요."]),  # a drug, in Korean
])
def test_ungrounded_claims_are_refused(code, lang, field, value):
    answer = REWORDINGS[code, lang]
    assert check(code, lang, answer) == "accepted"
    assert check(code, lang, dict(answer, **{field: value})) == "ungrounded"


def test_wrong_language_is_refused():
    assert check("mel", "ko", REWORDINGS["mel", "en"]) == "language"
    assert check("mel", "en", REWORDINGS["mel", "ko"]) == "language"


def test_urgency_is_never_changed():
    assert check("mel", "en", dict(REWORDINGS["mel", "en"],
                                   when_to_see_doctor="This is harmless: no need to see a doctor.")) == "reassurance"
    assert check("df", "en", dict(REWORDINGS["df", "en"],
                                  when_to_see_doctor="See a doctor immediately, it is urgent.")) == "alarm"
