"""Context cues for person names: the patterns ``person.py`` runs, grouped by kind.

Each pattern names the span of a name with group ``name``, or a list of names
with group ``value`` (split into items by ``LIST_SEGMENT`` and read by
``LIST_ITEM``). Patterns use the ``regex`` module for Unicode script classes
(``\\p{Han}``, ``\\p{Thai}``) and variable-length look-behind.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

CUE_SCORE = 0.85
WEAK_CUE_SCORE = 0.6

# --- name shapes per script -------------------------------------------------

# A Latin word starts upper case and ends lower case, which admits McDonald,
# O'Brien and Smith-Jones but not IT, PX-300 or the "-san" of Okamoto-san.
LATIN_WORD = r"\p{Lu}[\p{L}'’]*\p{Ll}(?:-\p{Lu}[\p{L}'’]*\p{Ll})?"
LATIN_NAME = rf"{LATIN_WORD}(?:[ \t]+(?:\p{{Lu}}\.[ \t]*)?{LATIN_WORD}){{0,2}}"

# 様, 氏 and 殿 are honorifics and are left out of name characters, so that
# the placeholder keeps the honorific visible: [PERSON_1]様.
JA_CHAR = r"(?:(?![様氏殿])[\p{Han}\p{Katakana}々ー])"
JA_GIVEN_NAME_CHAR = r"(?:(?![様氏殿]|さん)[\p{Han}\p{Katakana}\p{Hiragana}々ー])"
# A given name in hiragana is only taken after a space: without one, 営業部の田中
# would read as one name. NOTE: so 田中さくら (no space) masks only 田中.
# A foreign name in katakana joins its parts with a middle dot: ジョン・スミス.
JA_NAME = rf"{JA_CHAR}{{1,6}}(?:・[\p{{Katakana}}ー]{{1,8}}){{0,2}}(?:[ 　]{JA_GIVEN_NAME_CHAR}{{1,6}})?"

THAI_NAME = r"\p{Thai}{2,20}(?:[ ]\p{Thai}{2,25})?"
ANY_NAME = rf"(?P<name>{LATIN_NAME}|{JA_NAME}|{THAI_NAME})"

# Boundaries of a Latin-script name. Kanji, kana and Thai letters may touch
# it (事務所のKhamlaさん), so Python's \b, which treats them as word
# characters, does not fit.
NOT_LATIN_BEFORE = r"(?<!\p{Latin})"
NOT_LATIN_AFTER = r"(?!\p{Latin})"

# --- label vocabularies -------------------------------------------------------

# Khun is the Thai title คุณ in Latin script.
EN_TITLE = r"(?:Mr|Mrs|Ms|Mx|Dr|Prof|Khun)"
TH_TITLE_IN_LIST = r"(?:นางสาว|นาง|นาย|คุณ)"

# Lower- or upper-case names after a title: "mr. john smith", "DR. KENJI SATO". The
# recognizer keeps two or three words and checks them against the gazetteer.
# Mr and Mrs need no full stop; the others do, so that "MS Office" is no title.
ANY_CASE_TITLE = regex.compile(
    r"(?<!\p{L})(?i:(?:mr|mrs|ms|mx|dr|prof)\.|mrs?(?=[ \t]))[ \t]+"
    r"(?P<words>\p{L}[\p{L}'’\-]*(?:[ \t]+\p{L}[\p{L}'’\-]*){1,2})")
ANY_CASE_TITLE_NEEDLES = ("mr", "ms", "mx", "dr", "prof")

SIGN_OFF = (r"(?i:(?:best |kind |warm |warmest )?regards|best(?: wishes)?|thanks|thank you|many thanks|cheers"
            r"|sincerely|yours (?:sincerely|truly|faithfully)|respectfully)")
TH_SIGN_OFF = r"(?:ขอแสดงความนับถือ|ด้วยความเคารพ|ด้วยความนับถือ)"
# Lower-case words one of which every sign-off above contains.
SIGN_OFF_NEEDLES = ("regards", "best", "thank", "cheers", "sincerely", "yours", "respectfully", "ขอแสดงความนับถือ",
                    "ด้วยความ")

# Labels followed by one or more names, on the same line or as bullets on the
# lines below: e-mail headers and meeting roles.
LIST_LABEL = (r"(?i:from|to|cc|bcc|reply-to|sender|attendees?|participants|present|absent|apologies|chair"
              r"|chairperson|minutes|minute taker|secretary|facilitator|prepared by|guests?|invited"
              r"|(?:employee |committee |team )?(?:members?|representatives?)"
              r"|差出人|宛先|送信者|出席者|参加者|欠席者|議長|司会|記録|書記"
              r"|ผู้ส่ง|ผู้รับ|ถึง|ผู้เข้าร่วม(?:ประชุม)?|ผู้เข้าประชุม|ประธาน|ผู้บันทึก|ผู้รับผิดชอบ)")
# Labels of a field whose value is one person's name. The Japanese ones may end with spaces instead of a colon.
_JA_FIELD_LABELS = ("旅行者", "搭乗者", "申込者", "受取人", "氏名", "お名前", "名前", "担当者", "担当", "顧客名", "申請者",
                    "依頼者", "報告者", "作成者", "承認者", "口座名義", "名義人", "名義")
FIELD_LABEL = (r"(?i:customer(?:[ _]name)?|client(?:[ _]name)?|(?:full[ _])?name"
               r"|(?:customer[ _])?contact(?:[ _](?:name|person))?"
               r"|requester|requested[ _]by|reporter|reported[ _]by|assignee|assigned[ _]to|owner"
               r"|employee(?:[ _]name)?|author|submitted[ _]by|created[ _]by|approved[ _]by|account[ _]holder"
               r"|card[ _]?holder|travell?er|passenger|patient|applicant|beneficiary|payee|recipient"
               r"|attn\.?|attention"
               r"|ผู้เดินทาง|ผู้สมัคร|ชื่อ(?:-?นามสกุล)?|ผู้ติดต่อ"
               rf"|{'|'.join(_JA_FIELD_LABELS)})")
# Labels of a field or column that contains one part of a person's name. Examples
# are first_name and last_name in a CSV export, 姓 and 名 with their readings セイ,
# メイ and フリガナ, Thai ชื่อจริง (given name) and นามสกุล (family name), and Lao ຊື່
# (name) and ນາມສະກຸນ (family name). A short qualifier may follow: 姓（漢字）, Last name (kana).
NAME_PART_LABEL = (r"(?i:(?:first|last|given|family|middle)[ _\-]?name|surname|forename"
                   r"|姓|名|苗字|名字|セイ|メイ|フリガナ|ふりがな|ชื่อจริง|ชื่อต้น|นามสกุล|ຊື່|ນາມສະກຸນ)"
                   r"(?:[ \t]*[(（][^)）\n]{1,12}[)）])?")
# The value of such a field is a name part whatever its case, script or
# gazetteer entry, but not a placeholder for a missing value.
NAME_PART_VALUE = (r"(?!(?i:none|null|nil|unknown|tbd|n\.?a\.?)(?![\p{L}\p{M}])|なし|不明|未定|未記入)"
                   r"\p{L}[\p{L}\p{M}'’.\-]*(?:[ 　]\p{L}[\p{L}\p{M}'’.\-]*){0,3}")
NAME_PART_COLUMN = regex.compile(rf"^[ \t*_]*{NAME_PART_LABEL}[ \t*_]*$")
NAME_PART_CELL = regex.compile(rf"[ \t]*(?P<name>{NAME_PART_VALUE})[ \t]*")

# Table header cells that make a column hold names, unless the header also
# names a thing ("Product name", "Host owner").
NAME_COLUMN = regex.compile(
    r"(?<!\p{L})(?i:name|owner|contact|assignee|assigned to|responsible|employee|staff|person|requester"
    r"|reporter"
    r"|approver|author|chair|attendee|participant|primary|backup|on-call|担当|担当者|氏名|名前|責任者"
    r"|ชื่อ|ผู้รับผิดชอบ|ผู้ติดต่อ)(?!\p{L})")
THING_COLUMN = regex.compile(
    r"(?i:product|model|file|item|part|host|server|device|site|company|project|document|course|sensor|plant"
    r"|製品|品名|ファイル|会社|สินค้า|บริษัท)")

# Optional markdown or list decoration around a label: "- **Chair:** ".
_LABEL_START = r"^[ \t　]*(?:[-*•・][ \t]*)?[*_]*"
_LABEL_END = r"[*_]*[ \t]*[:：][*_]*[ \t　]*"
# A field label ends with ":" or "=", or, after a Japanese label, with spaces: 口座名義　イシヅカ　ナオキ.
_FIELD_LABEL_END = r"[*_]*\"?(?:[ \t]*[:：=][*_]*[ \t　]*|(?<=\p{Han})[ 　]+)"


@dataclass(frozen=True)
class Cue:
    """A context pattern; group ``name`` is one name, group ``value`` a list of names.

    ``needles`` make the cue cheaper on long texts. When given, every match
    starts on a line that contains one of them (compared in lower case), so
    only those lines are searched. A ``multiline`` cue starts at a line start
    and may run on over the next lines; any other cue with needles stays on
    one line. A case-insensitive label alternation cost the ``regex`` module
    about 0.1 s per MB when tried at every position.
    """

    name: str
    pattern: regex.Pattern
    score: float = CUE_SCORE
    needles: tuple[str, ...] = ()
    multiline: bool = False
    # When True, the span counts only if its first word is a gazetteer first name.
    given_name_first: bool = False


CUES = (
    Cue("title", regex.compile(
        rf"{NOT_LATIN_BEFORE}{EN_TITLE}\.?[ \t]+(?P<name>{LATIN_NAME}){NOT_LATIN_AFTER}")),
    Cue("greeting", regex.compile(
        rf"{NOT_LATIN_BEFORE}(?i:dear|hi|hello|hey|good (?:morning|afternoon|evening))[ \t]+"
        rf"(?:{EN_TITLE}\.?[ \t]+)?(?P<name>{LATIN_NAME})[ \t]*(?=[,!:]|$)", regex.MULTILINE)),
    # "Best regards,\nJane Doe" and "Thanks and have a good weekend,\n\nJane Doe"
    Cue("signature", regex.compile(
        rf"^[ \t]*(?:{SIGN_OFF}[^\n]{{0,40}}?|{TH_SIGN_OFF})[ \t]*[,.!]?[ \t]*(?:\r?\n[ \t]*){{1,2}}"
        rf"(?P<name>{LATIN_NAME}|{THAI_NAME})[ \t]*\r?$", regex.MULTILINE),
        needles=SIGN_OFF_NEEDLES, multiline=True),
    Cue("sign-off line", regex.compile(
        rf"^[ \t]*{SIGN_OFF}[ \t]*,[ \t]*(?P<name>{LATIN_NAME})[ \t]*\r?$", regex.MULTILINE),
        needles=SIGN_OFF_NEEDLES),
    # "Thanks, Harriet." and "See you then. Best, Tom": the sign-off ends a sentence,
    # which "Thanks, Management." does too, so the first word must be a known given name.
    Cue("sign-off sentence", regex.compile(
        rf"(?:^|(?<=[.!?][ \t]))[ \t]*{SIGN_OFF}[ \t]*,[ \t]*(?P<name>{LATIN_NAME})[ \t]*(?:[.!]|\r?$)",
        regex.MULTILINE), needles=SIGN_OFF_NEEDLES, given_name_first=True),
    Cue("introduction", regex.compile(
        rf"{NOT_LATIN_BEFORE}(?i:this is|my name is|i am|i'm)[ \t]+(?P<name>{LATIN_NAME})"
        rf"(?=[ \t]*(?:[,.!;:]|$)|[ \t]+(?i:from|at|of|in)[ \t])", regex.MULTILINE), WEAK_CUE_SCORE,
        needles=("this is", "my name is", "i am", "i'm")),
    # "Miho Sasaki: 090-1234-5678", "Wanida Phromsri, ext. 3104, w.p@example.com"; the
    # two words must start a run of capitalised words, so that "Acme Precision
    # Components, Tel: ..." is no name.
    Cue("contact line", regex.compile(
        rf"{NOT_LATIN_BEFORE}(?<!\p{{Lu}}\p{{L}}*[ \t])(?P<name>{LATIN_WORD}[ \t]+{LATIN_WORD})"
        rf"[ \t]*[,:(]?[ \t]*(?i:(?:ext\.?|extension)[ \t]*\d{{2,5}}[ \t]*[,;|]?[ \t]*)?"
        rf"(?i:(?:tel|phone|mobile|cell|e-?mail)\.?[ \t:]*)?"
        rf"(?=\+?\d[\d \-().]{{6,}}\d|[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+\.)"), WEAK_CUE_SCORE),
    # "Please contact Ben Williams at ...", "ask Mai Sakurai about ..."
    Cue("request to contact", regex.compile(
        rf"{NOT_LATIN_BEFORE}(?i:contact|ask|call|email|e-mail|write to|reach|forward it to|talk to|cc)[ \t]+"
        rf"(?P<name>{LATIN_WORD}[ \t]+{LATIN_WORD}){NOT_LATIN_AFTER}"
        r"(?=[ \t]+(?i:at|on|via|by|for|about|if|before)[ \t])"),
        WEAK_CUE_SCORE, needles=("contact", "ask", "call", "mail", "write to", "reach", "forward it to", "talk to",
                                 "cc")),
    Cue("card or account holder", regex.compile(
        rf"{NOT_LATIN_BEFORE}(?i:card[ ]?holder|account holder|holder)[ \t]*:?[ \t]*(?P<name>{LATIN_NAME})"),
        needles=("holder",)),
    Cue("Japanese introduction", regex.compile(rf"(?P<name>{JA_NAME})(?:と申します|と言います)")),
    # お疲れさまです。製品技術部の石塚です。 / お世話になっております。アクメの川口でございます。
    Cue("Japanese greeting", regex.compile(
        rf"(?:お疲れ(?:さま|様)です|お世話になっております|お世話になります)[。、]?[ \t　]*\n?[ \t　]*"
        rf"(?:[^\n。]{{0,20}}?の)?(?P<name>{JA_CHAR}{{1,6}})(?:です|でございます)")),
    Cue("Thai introduction", regex.compile(r"(?:ผม|ดิฉัน|ฉัน)ชื่อ[ ]?(?P<name>\p{Thai}{2,20})")),
    Cue("header or list", regex.compile(
        rf"{_LABEL_START}{LIST_LABEL}{_LABEL_END}(?P<value>\S[^\n]*|(?:\n[ \t]*[-*•・][^\n]*)+)",
        regex.MULTILINE), needles=(":", "："), multiline=True),
    Cue("name part field", regex.compile(
        rf"(?:^|(?<=[,;|{{(\t\"]))[ \t]*(?:[-*•・][ \t]*)?[*_]*\"?{NAME_PART_LABEL}"
        rf"[*_]*\"?[ \t]*[:：=][*_]*[ \t　]*\"?"
        rf"(?P<name>{NAME_PART_VALUE})[ \t　]*\"?(?=[ \t]*(?:[,;|}}]|\r?$))", regex.MULTILINE),
        needles=(":", "：", "=")),
    Cue("field", regex.compile(
        rf"(?:^|(?<=[,;|{{(\t\"。、　]))[ \t]*(?:[-*•・][ \t]*)?[*_]*\"?{FIELD_LABEL}{_FIELD_LABEL_END}\"?"
        rf"(?P<value>[^\n,;|\"]*)", regex.MULTILINE),
        # A Japanese label may end with spaces instead of a colon, so the labels are needles too.
        needles=(":", "：", "=", *_JA_FIELD_LABELS)),
)

# Words that start a Thai job title or department: ผู้จัดการ (manager), ฝ่าย (department).
TH_ROLE_PREFIXES = ("ผู้", "หัวหน้า", "เจ้าหน้าที่", "ฝ่าย", "พนักงาน", "แผนก", "บริษัท")

# One entry of a list value: optional bullet, department (営業部) or title,
# the name, then an optional honorific, Thai role, <address>, (role) and
# full stop. The closing bracket is optional because a comma inside the
# brackets splits the entry: "Mai Sakurai (IT Helpdesk, minutes)".
LIST_ITEM = regex.compile(
    rf"[ \t　\"'*•・\-]*(?:[^\s<>]{{1,12}}(?:部|課|室|グループ|チーム)[ 　]+)?"
    rf"(?:{EN_TITLE}\.?[ \t]+|{TH_TITLE_IN_LIST}[ ]?)?{ANY_NAME}"
    rf"[ \t]*(?:様|さん|氏|殿)?(?:[ ](?:{'|'.join(TH_ROLE_PREFIXES)})\p{{Thai}}*)?[ \t\"']*"
    r"(?:<[^>\n]*>?)?[ \t]*(?:[(（][^)）\n]*[)）]?)?[ \t]*[。.．]?[ \t]*$"
)
LIST_SEGMENT = regex.compile(r"(?:(?![ \t]and[ \t])[^,;、，/&\n])+")

# --- honorifics, titles, tables ---------------------------------------------------

JA_HONORIFIC = regex.compile(
    r"(?P<run>[\p{Han}\p{Katakana}々ー](?:[\p{Han}\p{Katakana}々ー]|・(?=\p{Katakana})){0,11})[ 　]?"
    r"(?:様(?![々式子相])|さん|氏(?![名族])|殿(?!下))")
# A Latin name before a Japanese honorific: Khamlaさん, Ananさん, Okamoto-san.
LATIN_HONORIFIC = regex.compile(
    rf"{NOT_LATIN_BEFORE}(?P<run>{LATIN_WORD})"
    rf"(?:[ ]?(?:様|さん|氏(?![名族])|殿)|-(?:san|sama|kun|chan|sensei)(?!\p{{L}}))")
# Every match of the two honorific patterns above contains one of these.
HONORIFIC_NEEDLES = ("様", "さん", "氏", "殿", "-san", "-sama", "-kun", "-chan", "-sensei")
JA_RUN_BEFORE = regex.compile(r"(?P<run>[\p{Han}\p{Katakana}々ー]{1,4})[ 　]$")

# A Thai title starts a word: after a non-Thai character or after a word
# that often comes right before a name in unspaced Thai. Without this rule
# นาย would match inside มิถุนายน (June) and คุณ inside ขอบคุณ (thanks).
TH_TITLE = regex.compile(
    r"(?:(?<!\p{Thai})|(?<=ติดต่อ|โดย|จาก|ถึง|และ|กับ|ของ|ให้|แจ้ง|เรียน|ส่ง|ถาม|ว่า|คือ|ได้แก่))"
    r"(?P<title>นางสาว|นาง|นาย|คุณ|น\.ส\.|ด\.ช\.|ด\.ญ\.|ดร\.)[ ]?"
    r"(?P<run>\p{Thai}{1,30})(?:[ ](?P<surname>\p{Thai}{2,30}))?"
)
# Verbs and particles that end an unspaced Thai name run: คุณสุภาภรณ์แจ้ง... is
# cut before แจ้ง (informed).
TH_VERB = regex.compile(r"แจ้ง|โทร|สอบถาม|รายงาน|กล่าว|ชี้แจง|เสนอ|อธิบาย|ติดต่อ|ขอให้|ยืนยัน"
                        r"|ได้รับ|จะ|เป็น|และ|ครับ|ค่ะ|ซึ่ง|ว่า")
TH_RUN_END = regex.compile(rf"(?<=\p{{Thai}}{{2}})(?:{TH_VERB.pattern})")

# A signature's name line right after a company or department line:
# "株式会社アクメ 総務部" then "木村 さくら". The name line contains a family
# name, a space and a given name in kanji or in kana, and nothing else.
JA_SIGNATURE_NAME = regex.compile(
    r"(?:(?:株式会社|有限会社|合同会社|（株）|\(株\))[^\n]*?|(?:部|課|室|グループ|チーム|センター|支店|営業所))"
    r"[ \t　]*\r?\n[ \t　]*(?P<family>[\p{Han}\p{Katakana}々ー]{1,4})[ 　]"
    r"(?P<given>[\p{Han}々]{1,3}|[\p{Hiragana}ー]{2,4}|[\p{Katakana}ー]{2,5})[ \t　]*\r?$", regex.MULTILINE)
JA_SIGNATURE_NEEDLES = ("株式会社", "有限会社", "合同会社", "（株）", "(株)", "部", "課", "室", "グループ", "チーム",
                        "センター", "支店", "営業所")

TABLE_LINE = regex.compile(r"^[ \t]*\|.*\|[ \t]*\r?$", regex.MULTILINE)
TABLE_SEPARATOR = regex.compile(r"^[ \t|:\-]+$")
TABLE_CELL = regex.compile(r"(?<=\|)[^|\n]*(?=\|)")

# "First Last", also wrapped onto the next line as PDF extraction and e-mail clients do.
LATIN_PAIR = regex.compile(
    rf"{NOT_LATIN_BEFORE}(?P<first>{LATIN_WORD})(?:[ \t]+|[ \t]*\r?\n[ \t]*)(?:\p{{Lu}}\.[ \t]*)?"
    rf"(?P<last>{LATIN_WORD})"
    rf"{NOT_LATIN_AFTER}")
LATIN_SINGLE = regex.compile(rf"{NOT_LATIN_BEFORE}{LATIN_WORD}{NOT_LATIN_AFTER}")
