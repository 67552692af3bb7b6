"""Asian person names in Latin script: word lists and the shape of romanised Japanese.

Faker holds only about 50 romanised Japanese given names and 50 family
names, 67 romanised Thai names (en_TH), and no romanised Lao names, so
"Somchai Jaidee", "Tanaka Hiroshi" or "Nguyen Van An" in English text found no
gazetteer support. These lists add common romanised Japanese, Thai, Lao and
Vietnamese (diacritics dropped) names, written for Shochu from general
knowledge of frequent names; ``names.py`` merges them with Faker's lists.

Names of three letters or fewer (Mai, Jun, Ren, Le, Do) and the Vietnamese
given names are short everyday words in some language, so they only count
when the other word of the pair is a known name too (see ``person.py``).
"""

from __future__ import annotations

import re

JA_FAMILY = """
Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida Yamada Sasaki Yamaguchi
Matsumoto Inoue Kimura Hayashi Shimizu Yamazaki Mori Abe Ikeda Hashimoto Yamashita Ishikawa Nakajima Maeda
Fujita Ogawa Goto Okada Hasegawa Murakami Kondo Ishii Saito Sakamoto Endo Aoki Fujii Nishimura Fukuda Ota
Miura Fujiwara Okamoto Matsuda Nakagawa Nakano Harada Ono Tamura Takeuchi Kaneko Wada Nakayama Ishida Ueda
Morita Hara Shibata Sakai Kudo Yokoyama Miyazaki Miyamoto Uchida Takagi Ando Taniguchi Ohno Maruyama Imai
Takada Fujimoto Takeda Murata Ueno Sugiyama Masuda Sugawara Hirano Otsuka Kojima Chiba Kubo Matsui Iwasaki
Sakurai Kinoshita Noguchi Matsuo Nomura Kikuchi Sano Onishi Sugimoto Arai Hamada Ichikawa Furukawa Mizuno
Komatsu Shimada Igarashi Kitamura Yasuda Nakata Kawaguchi Hirata Kawasaki Iida Yoshikawa Kubota Sawada Tsuji
Seki Yoshimura Iwata Nakanishi Hattori Higuchi Fukushima Kawakami Nagai Matsuoka Taguchi Yamanaka Morimoto
Tsuchiya Yano Hirose Oda Nishida Akiyama Ishihara Matsushita Okazaki Baba Kuroda Ishizuka Kawamura Hoshino
Kawano Nagata Okamura Takano Hamaguchi Sugiura Tsukamoto Asano Kurihara Miyata Oshima Nishikawa Yamauchi
""".split()

JA_GIVEN = """
Hiroshi Takashi Makoto Kenji Takeshi Satoshi Kazuo Akira Yuki Hiroki Daisuke Yusuke Kenta Shota Ryota Yuta
Kazuki Naoki Tomoya Takumi Haruto Sota Yuto Riku Hinata Minato Hayato Kaito Daiki Tsubasa Kohei Shohei Masato
Masashi Tetsuya Hideki Hideo Yoshio Yoshiko Keiko Yoko Kyoko Tomoko Yumiko Akiko Noriko Sachiko Michiko
Kazuko Emiko Mariko Naoko Hanako Yumi Ayumi Mayumi Megumi Kaori Yuko Yukiko Haruka Misaki Sakura Nanami
Asuka Ayaka Natsuki Airi Riko Erika Momoko Chihiro Shiori Hitomi Junko Miho Yoshiyuki Toshio Hiroyuki Nobuo
Shigeru Osamu Isamu Minoru Tadashi Yasushi Koji Shinji Shinya Tatsuya Takuya Kosuke Ryosuke Keisuke Shunsuke
Taro Jiro Ichiro Kenichi Shinichi Yoichi Atsushi Tsuyoshi Manabu Noboru Masaru Mitsuru Naomi Tomomi Kazuya
Sho Ren Rin Mio Aoi Yui Mai Saki Kana Nana Hina Ryo Jun Rumi Emi Aki Yu Kei Ken
""".split()

TH_GIVEN = """
Somchai Somsak Somporn Sompong Somkiat Somboon Sombat Somjai Sunee Suda Sudarat Supaporn Supachai Suchart
Surachai Surasak Sutham Prasert Prasit Pornchai Pornthip Porntip Piyapong Pichai Pichit Anan Anong Arunee
Apinya Achara Boonmee Boonsong Chaiwat Chalerm Chanchai Chatchai Kittisak Kittipong Kanya Kanokwan Kamol Malee
Manee Montri Nattapong Natthapong Nattaya Niran Nirut Narong Nipon Pimchanok Pimpa Patcharee Rattana Ratana
Sakchai Sarawut Siriporn Sirirat Siriwan Somying Sunisa Thanakorn Thanawat Thitima Tanawat Uthai Vichai Wichai
Wanida Wanna Warunee Yupin Yupa Jintana Jaruwan Kannika Kritsada Kulap Lamai Mayuree Nantana Orawan Panya
Paiboon Panida Pranee Preecha Rungroj Saowanee Sasithorn Siriluck Somsri Tassanee Wirat Wiroj Yaowaluck
Chutima Duangjai Kwanchai Napat Nonglak Pakorn Parinya Pattama Jirawat Apichart Adisak Weerapong Chakrit
Thawatchai Decha Kasem Supattra Ratchanee Wilai Pensri Chaiya Anucha Ekachai Nuttawut Pongsak Sirichai
""".split()

TH_FAMILY = """
Jaidee Saetang Saelim Saelee Srisuk Sriwong Wongsawat Chaiyaporn Boonyarat Rattanakorn Suksawat Thongchai
Thongdee Kaewmanee Kaewkla Phromsri Charoenchai Charoensuk Sukjai Intarakul Phongphan Pattanakul Siripong
Kongsuk Chaiyasit Wongsuwan Panyasiri Tangsakul Chantara Kittikul Meesuk Rakthai Srisawat Yodkaew Wattanasin
Jantarasuk Chotikul Sangthong Suwannarat Phanthong Noikaew Ruangsri Khamsuk Kongkaew Rattanapong Sukprasert
Boonprasert Chaimongkol Tantiwong Sirisuk Petchsri
""".split()

LO_GIVEN = """
Khamla Bounmy Souksavanh Phonsavanh Somphone Vilay Bounthanh Chanthaly Sengdao Khamphoui Bouasone Thongsavanh
Manivanh Phetsamone Saysamone Souliya Latsamy Kongkeo Bounleuang Thongchanh Viengkham Somsanouk Sisouk
Khamsing Noy Keo Souk
""".split()

LO_FAMILY = """
Phommachanh Sihavong Vongsavanh Keomany Inthavong Phommasone Sisavath Chanthavong Souvannavong Phanthavong
Xayavong Luangrath Sengsouvanh Douangmala Bounyavong Keophila Vilaysack Sayavong Phetsomphou Khounvilay
""".split()

VI_FAMILY = """
Nguyen Tran Le Pham Hoang Huynh Phan Vu Vo Dang Bui Do Ho Ngo Duong Ly Dinh Truong Lam Trinh Cao Luong
""".split()

# Middle names that make a following word a given name: Nguyen Van An, Tran Thi Mai.
VI_MIDDLE = """
Van Thi Huu Duc Minh Quang Thanh Ngoc Xuan Hoang Kim Thu Anh Cong Dinh Tuan Bao Gia Hai Phuong
""".split()

# Vietnamese given names, also accepted after a family and middle name (Nguyen Van An).
VI_GIVEN = """
An Anh Binh Chi Cuong Dung Duc Duy Giang Ha Hai Hanh Hieu Hoa Hoai Hung Huong Huy Khanh Khoa Lan Linh Long
Mai Minh My Nam Nga Ngoc Nhung Phong Phuc Phuong Quan Quang Son Tam Thanh Thao Thu Thuy Trang Trung Tuan Tung
Tuyet Viet Vinh Yen Hien Dat Loc Tien
""".split()

# Short or ambiguous given names: known, but not enough on their own to make
# "<given> <any capitalised word>" a name.
PAIR_ONLY_GIVEN = frozenset(name for name in (*JA_GIVEN, *TH_GIVEN, *LO_GIVEN)
                            if len(name) <= 3) | set(VI_GIVEN)

# Asian place names whose words are also personal names (Chi, Minh, Mai, Khon).
# A name match that lies inside one of them is dropped.
PLACE_NAMES = """
Ho Chi Minh|Hai Phong|Da Nang|Nha Trang|Can Tho|Hoi An|Ha Long|Chiang Mai|Chiang Rai|Nong Khai|Khon Kaen
|Hat Yai|Udon Thani|Ubon Ratchathani|Nakhon Ratchasima|Nakhon Pathom|Nakhon Sawan|Surat Thani|Samut Prakan
|Chon Buri
|Bang Phli|Bang Na|Sukhumvit|Luang Prabang|Vang Vieng|Savannakhet|Pakse|Phnom Penh|Siem Reap|Kuala Lumpur
|Hong Kong|Shin Osaka|Shin Yokohama|Minato Mirai|Chao Phraya
""".replace("\n", "")

# One romanised Japanese syllable (Hepburn, with the common long-vowel spellings).
_ROMAJI_SYLLABLE = (r"(?:(?:ky|gy|sh|ch|ny|hy|by|py|my|ry|j)[aou]|ts?u|shi|chi|fu|[kgsztdnhbpmr]?[aiueo]"
                    r"|y[aou]|w[ao]|n(?![aiueoy]))")
_ROMAJI_WORD = re.compile(rf"(?:{_ROMAJI_SYLLABLE})+")


# Typical endings of romanised Japanese family names (Hamasaki, Uchiyama) and given names (Masahiro, Rieko).
_JA_FAMILY_ENDING = re.compile(r"(?:moto|yama|kawa|gawa|mura|hara|bara|shita|zaki|saki|oka|ishi|hashi|bashi"
                               r"|uchi|shima|jima|sawa|zawa|kami|gami|naka|mori|ike|no|da|ta|se|be|ue)$")
_JA_GIVEN_ENDING = re.compile(r"(?:hiro|hiko|ko|ichi|suke|taro|jiro|mi|aki|nori|yuki|shi|ya|ki|to|e|ri|na|ka"
                              r"|o)$")


# Syllables that romanised Thai and Lao family names are built from (Srisombat,
# Rattanawong, Wongpaiboon, Phommachanh).
_TH_FAMILY_PART = re.compile(
    r"wong|vong|sri|suk|porn|chai|kul|phan|sombat|thong|kaew|keo|boon|pong|siri|rattana|charoen|wattana"
    r"|prasert|paiboon|phet|sawat|savanh|sak|sin|phon|mala|many")


def is_thai_family_shaped(word: str) -> bool:
    """Return True for a word of 8 or more letters with two parts typical of Thai or Lao family names.

    English words of that length rarely contain two of them; a Thai given
    name before it (Worawut Srisombat) is then taken as a name.
    """
    return len(word) >= 8 and len(_TH_FAMILY_PART.findall(word.lower())) >= 2


def is_romaji_name_pair(first: str, second: str) -> bool:
    """Return True for two romaji words shaped like a Japanese family and given name, in either order.

    The given name must not also end like a family name, so that place pairs
    such as "Hiroshima Nagasaki" stay unmatched.
    """
    if not (is_romaji_word(first) and is_romaji_word(second)):
        return False
    return (_is_family_shaped(first) and _is_given_shaped(second)) or (
        _is_given_shaped(first) and _is_family_shaped(second))


def _is_family_shaped(word: str) -> bool:
    return bool(_JA_FAMILY_ENDING.search(word.lower()))


def _is_given_shaped(word: str) -> bool:
    return bool(_JA_GIVEN_ENDING.search(word.lower())) and not _is_family_shaped(word)


def is_romaji_word(word: str) -> bool:
    """Return True when a word of 4 or more letters splits into romanised Japanese syllables (Hiroshi, Kohei).

    English words rarely do, but place names (Osaka, Tokyo) and brands do.
    So ``person.py`` uses it only next to a known Japanese name, or in
    ``is_romaji_name_pair`` with the endings of family and given names.
    """
    return len(word) >= 4 and bool(_ROMAJI_WORD.fullmatch(word.lower()))
