"""Default prompt templates of the build tasks, per language of the source text.

The build stage picks the template of the source chunk's (or ticket's)
language, so a Japanese chunk gives a Japanese instruction to the teacher and
a Japanese pair, and falls back to ``en`` for a language without its own.
Templates are ``str.format`` strings. The placeholders each kind may use are
in ``PLACEHOLDERS``; config validation rejects any other.
"""

from __future__ import annotations

import string

# Placeholders allowed per template kind; the first ones listed are required.
PLACEHOLDERS: dict[str, tuple[set[str], set[str]]] = {
    "question": ({"text"}, set()),
    "answer": ({"text", "question"}, set()),
    "summary": ({"text"}, set()),
    "classify": ({"text", "choices"}, set()),
    "extraction": ({"text", "fields"}, set()),
}

DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "question": {
        "en": "Read this excerpt from an internal company document.\n\n{text}\n\n"
              "Write one specific question that the excerpt answers. Reply with the question only.",
        "ja": "次の社内文書の抜粋を読んでください。\n\n{text}\n\n"
              "この抜粋に答えが書かれている具体的な質問を日本語で一つ書いてください。質問だけを答えてください。",
        "th": "อ่านข้อความที่ตัดมาจากเอกสารภายในบริษัทต่อไปนี้\n\n{text}\n\n"
              "เขียนคำถามที่เฉพาะเจาะจงหนึ่งข้อเป็นภาษาไทย ซึ่งข้อความนี้ให้คำตอบได้ ตอบเฉพาะคำถามเท่านั้น",
    },
    "answer": {
        "en": "Answer the question using only the document excerpt.\n\nExcerpt:\n{text}\n\nQuestion: {question}",
        "ja": "文書の抜粋だけを使って、質問に日本語で答えてください。\n\n抜粋:\n{text}\n\n質問: {question}",
        "th": "ตอบคำถามเป็นภาษาไทยโดยใช้เฉพาะข้อความจากเอกสารเท่านั้น\n\nข้อความ:\n{text}\n\nคำถาม: {question}",
    },
    "summary": {
        "en": "Summarise this excerpt from an internal company document in two or three sentences.\n\n{text}",
        "ja": "次の社内文書の抜粋を日本語で二、三文に要約してください。\n\n{text}",
        "th": "สรุปข้อความที่ตัดมาจากเอกสารภายในบริษัทต่อไปนี้เป็นภาษาไทยในสองถึงสามประโยค\n\n{text}",
    },
    "classify": {
        "en": "Classify the support ticket into one of these categories: {choices}.\n\n{text}\n\n"
              "Reply with the category only.",
        "ja": "次のサポートチケットを、これらのカテゴリのいずれかに分類してください: {choices}。\n\n{text}\n\n"
              "カテゴリ名だけを答えてください。",
        "th": "จัดหมวดหมู่ตั๋วแจ้งปัญหาต่อไปนี้เป็นหนึ่งในหมวดหมู่เหล่านี้: {choices}\n\n{text}\n\n"
              "ตอบเฉพาะชื่อหมวดหมู่เท่านั้น",
    },
    "extraction": {
        "en": "Extract these fields from the document excerpt.\n\nFields:\n{fields}\n\nExcerpt:\n{text}\n\n"
              "Reply with one JSON object whose keys are the field names only. Use null for a field "
              "the excerpt does not give.",
        "ja": "次の文書の抜粋から、以下の項目を抽出してください。\n\n項目:\n{fields}\n\n抜粋:\n{text}\n\n"
              "項目名をキーとする JSON オブジェクトだけを答えてください。抜粋にない項目は null にしてください。",
        "th": "ดึงข้อมูลรายการต่อไปนี้จากข้อความที่ตัดมาจากเอกสาร\n\nรายการ:\n{fields}\n\nข้อความ:\n{text}\n\n"
              "ตอบเป็นออบเจ็กต์ JSON ที่ใช้ชื่อรายการเป็นคีย์เท่านั้น ใช้ null สำหรับรายการที่ไม่มีในข้อความ",
    },
}

FALLBACK_LANGUAGE = "en"


def template_problems(kind: str, templates: dict[str, str]) -> list[str]:
    """Return what is wrong with one kind's templates; an empty list when they are usable."""
    required, optional = PLACEHOLDERS[kind]
    problems = []
    if FALLBACK_LANGUAGE not in templates:
        problems.append(f"needs an '{FALLBACK_LANGUAGE}' template, used for languages without their own")
    for language, template in templates.items():
        try:
            names = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
        except ValueError as error:
            problems.append(f"{language}: invalid template ({error}); write literal braces as {{{{ and }}}}")
            continue
        missing = sorted(required - names)
        unknown = sorted(names - required - optional)
        if missing:
            problems.append(f"{language}: missing placeholder(s) {', '.join('{' + n + '}' for n in missing)}")
        if unknown:
            problems.append(f"{language}: unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}; "
                            f"allowed: {', '.join('{' + n + '}' for n in sorted(required | optional))}")
    return problems


def render(templates: dict[str, str], language: str, **values: str) -> str:
    """Fill the template of ``language`` (or the fallback language) with ``values``."""
    template = templates.get(language, templates[FALLBACK_LANGUAGE])
    return template.format(**values)
