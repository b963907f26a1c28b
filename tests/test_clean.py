"""The cleaner on plain text: one test per kind of boilerplate, plus properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsmill.clean import clean_lines, clean_text, default_rules, is_date_line, is_tag_list

STORY = [
    "The regional council voted on Tuesday to expand the tram network to two new districts, "
    "a plan officials said would cost about 60 million euros over six years.",
    "Residents had campaigned for the extension since 2018, arguing that the estates on the "
    "eastern edge of the city were cut off from jobs, schools and hospitals.",
    "“This is the biggest investment in public transport this city has seen in a generation,” "
    "the council leader, Ines Aldecott, told reporters after the vote.",
    "Work on the first section is due to start next spring, with trams running by 2029 if the "
    "national government approves its share of the funding in the autumn budget.",
]


def removed(text: str, **kwargs: object) -> dict[str, str]:
    return {r.text: r.rule for r in clean_lines(text, **kwargs).removed}  # type: ignore[arg-type]


def lines(*parts: str) -> str:
    return "\n\n".join(parts)


def test_story_without_boilerplate_is_unchanged():
    assert clean_text(lines(*STORY)) == "\n".join(STORY)


def test_blank_lines_and_surrounding_spaces_are_dropped():
    assert clean_text("  first line of a story  \n\n\n   second line  ") == (
        "first line of a story\nsecond line"
    )


def test_trailing_related_block_with_dates_and_authors_goes():
    block = [
        "Recommended For You",
        "Ferry Operator Orders Two Electric Boats",
        "Feb 3, 2026",
        "Noor Haddad",
        "Old Mill Turned Into Climbing Centre",
        "Feb 3, 2026",
        "Piet Gansevoort",
    ]
    result = removed(lines(*STORY, *block))
    assert set(block) <= set(result)
    assert result["Recommended For You"] == "related-block"
    assert clean_text(lines(*STORY, *block)) == "\n".join(STORY)


def test_most_read_and_more_from_headings_go_with_their_links():
    for heading in ("Most read in business", "More from Sport", "Related Articles", "Read more"):
        text = lines(*STORY, heading, "Bank cuts rates again", "Striker signs new deal")
        assert clean_text(text) == "\n".join(STORY), heading


def test_related_heading_followed_by_story_text_keeps_the_story():
    # "Related" as the last words of a short line is not a heading when the story goes on
    text = lines(STORY[0], "Related", STORY[1], STORY[2])
    assert STORY[1] in clean_text(text)
    assert STORY[2] in clean_text(text)


def test_share_bar_and_what_follows_it_at_the_end_go():
    text = lines(*STORY, "SHARE THIS ARTICLE", "Daily Example News Roku")
    assert removed(text) == {
        "SHARE THIS ARTICLE": "share-bar",
        "Daily Example News Roku": "tail-block",
    }


def test_share_buttons_inside_the_story_go():
    text = lines(STORY[0], "Share on Facebook Twitter WhatsApp", STORY[1])
    assert removed(text) == {"Share on Facebook Twitter WhatsApp": "share-bar"}


def test_mirror_addresses_and_the_addresses_go():
    text = lines(
        *STORY,
        "Example TV’s website can also be accessed at the following alternate addresses:",
        "www.exampletv.example",
        "exampletv-news.example.org",
    )
    assert clean_text(text) == "\n".join(STORY)


def test_for_more_visit_goes():
    assert removed(lines(*STORY, "For More visit DailyExample")) == {
        "For More visit DailyExample": "for-more-visit"
    }


def test_newsletter_app_and_follow_prompts_go():
    prompts = ["Sign up for our newsletter", "Download our app", "Follow us on Instagram"]
    text = lines(STORY[0], prompts[0], STORY[1], prompts[1], STORY[2], prompts[2], STORY[3])
    assert clean_text(text) == "\n".join(STORY)


def test_a_sign_up_boxs_fine_print_goes_mid_story_and_the_story_goes_on():
    heading = "Sign up for the On Education newsletter"
    fine_print = "You will receive occasional updates and offers from Example News. Privacy Policy"
    text = lines(STORY[0], heading, fine_print, *STORY[1:])
    assert removed(text) == {heading: "newsletter-prompt", fine_print: "signup-consent"}
    assert clean_text(text) == "\n".join(STORY)  # not an end of the article


def test_breadcrumbs_at_the_start_go():
    for crumb in ("News   /   More", "Home > World > Europe", "Sport » Tennis"):
        assert removed(lines(crumb, *STORY)) == {crumb: "breadcrumb"}, crumb


def test_read_time_and_bare_date_at_the_start_go():
    text = lines("3 Feb, 2026", "4 min read", "Headline Of The Story Here", *STORY)
    assert removed(text) == {"3 Feb, 2026": "date-line", "4 min read": "read-time"}


def test_dateline_and_quotes_stay():
    dateline = (
        "LISBON/MADRID — Ministers from both countries met on Monday to agree on a rail link."
    )
    quote = "“We are ready,” she said."
    text = lines(dateline, quote, *STORY)
    assert clean_text(text).splitlines()[:2] == [dateline, quote]


def test_tweet_signature_line_goes():
    tweet = (
        "The bridge is open again! Thanks to all crews. pic.twitter.com/AbCdEf123 "
        "— City Roads (@cityroads) February 3, 2026"
    )
    assert removed(lines(STORY[0], tweet, STORY[1])) == {tweet: "tweet-signature"}


def test_sentences_that_merely_mention_read_more_or_share_stay():
    middle = [
        "Officials urged residents to read more about the scheme online before the vote, and to "
        "share their views at one of four public meetings.",
        "Share prices at the construction firm rose.",
    ]
    text = lines(STORY[0], *middle, STORY[1])
    assert clean_text(text).splitlines() == [STORY[0], *middle, STORY[1]]


def test_a_short_last_paragraph_stays():
    text = lines(*STORY, "The council meets again in March.")
    assert clean_text(text).endswith("The council meets again in March.")


def test_title_repeated_as_first_line_goes_only_when_the_title_is_known():
    title = "Council Approves Tram Extension"
    text = lines(title, *STORY)
    assert removed(text, title=title) == {title: "title"}
    assert removed(text) == {}
    # a title with the site name appended still matches
    assert removed(text, title=[f"{title} | The Example Times"]) == {title: "title"}


def test_credits_contacts_and_copyright_after_the_story_go():
    tail = [
        "Reporting by Jan Example; Editing by Ola Example",
        "Write to Jan Example at jan@example.com",
        "Copyright © 2026 Example Media. All rights reserved.",
    ]
    assert clean_text(lines(*STORY, *tail)) == "\n".join(STORY)


def test_removed_lines_are_reported_in_order_with_rule_ids():
    text = lines("Home > Local", *STORY, "Advertisement", "SHARE THIS ARTICLE")
    result = clean_lines(text)
    assert [(r.text, r.rule) for r in result.removed] == [
        ("Home > Local", "breadcrumb"),
        ("Advertisement", "advertisement"),
        ("SHARE THIS ARTICLE", "share-bar"),
    ]


def test_every_rule_id_reported_is_declared():
    ids = {r.id for r in default_rules().rules} | {"tail-block"}
    text = lines("Home > Local", "2 min read", *STORY, "Tags: trams", "x", "Share")
    assert {r.rule for r in clean_lines(text).removed} <= ids


def test_is_date_line():
    for date in ("24 Jan, 2026", "Updated: Tue., Nov. 19, 2019 at 5:10 pm", "2019-11-19 15:24"):
        assert is_date_line(date, default_rules()), date
    for text in ("Jan said no.", "24 people died", "Published by the council"):
        assert not is_date_line(text, default_rules()), text


# ----------------------------------------------------------------------------- other languages

GERMAN = [
    "Der Stadtrat hat am Dienstag beschlossen, das Straßenbahnnetz um zwei neue Linien zu "
    "erweitern, ein Plan, der nach Angaben der Verwaltung rund 60 Millionen Euro kosten soll.",
    "Anwohner hatten seit 2018 für die Verlängerung gekämpft, weil die Siedlungen am östlichen "
    "Stadtrand von Arbeitsplätzen, Schulen und Krankenhäusern abgeschnitten seien.",
    "„Das ist die größte Investition in den Nahverkehr seit einer Generation“, sagte die "
    "Oberbürgermeisterin Ines Aldecott nach der Abstimmung vor Journalisten.",
]


def test_a_german_article_loses_its_boilerplate_and_nothing_else():
    text = lines(
        "Startseite > Politik > Regional",
        "Aktualisiert am 5. März 2026, 14:30 Uhr",
        "Lesezeit: 3 Min.",
        GERMAN[0],
        "Foto: dpa/Michael Kappeler",
        "Anzeige",
        GERMAN[1],
        "Lesen Sie auch: Bahn erhöht die Preise im Dezember",
        GERMAN[2],
        "(dpa)",
        "Mehr zum Thema",
        "Streik legt Flughafen lahm",
        "Neue Regeln für E-Scooter",
        "Artikel teilen",
        "Kommentare (12)",
        "© dpa-infocom, dpa:260305-99-123456/3",
    )
    result = clean_lines(text)
    assert result.text == "\n".join(GERMAN)
    rules = {r.text: r.rule for r in result.removed}
    assert rules["Foto: dpa/Michael Kappeler"] == "photo-credit-intl"
    assert rules["Lesen Sie auch: Bahn erhöht die Preise im Dezember"] == "related-link"
    assert rules["Aktualisiert am 5. März 2026, 14:30 Uhr"] == "date-line"
    assert rules["(dpa)"] == "agency-line"


def test_french_spanish_and_italian_in_body_boilerplate_goes():
    cases = {
        "Lire aussi : La réforme des retraites devant le Conseil constitutionnel": (
            "related-link-intl"
        ),
        "Te puede interesar: Así será el tiempo este fin de semana": "related-link-intl",
        "Crédit photo : Jean Dupont / Le Monde": "photo-credit-intl",
        "Imagen: EFE": "photo-credit-intl",
        "Publicité": "advertisement-intl",
        "La suite après cette publicité": "advertisement-intl",
        "4 min de lecture": "read-time-intl",
        "Abonnez-vous à notre newsletter": "newsletter-prompt-intl",
        "Descarga nuestra app para iOS y Android": "app-prompt-intl",
        "Condividi su Facebook Twitter": "share-bar-intl",
        "Con información de EFE": "agency-line",
        "Síguenos en Instagram": "follow-us-intl",
        "Article réservé aux abonnés": "subscriber-label-intl",
        "Ascolta l'articolo": "page-tool-intl",
    }
    for line, rule in cases.items():
        assert removed(lines(STORY[0], line, STORY[1])) == {line: rule}, line


def test_a_related_box_in_the_body_goes_with_its_headlines_and_the_story_goes_on():
    for heading in ("Leggi anche", "Te puede interesar", "Czytaj także", "İlgili Haberler"):
        text = lines(STORY[0], heading, "Il sindaco presenta il piano", STORY[1], STORY[2])
        assert clean_text(text) == "\n".join(STORY[:3]), heading


def test_tail_blocks_in_other_languages_go():
    for block in (
        ["Sur le même sujet", "Grève à la SNCF", "La réforme devant le Conseil"],
        ["Lo más leído", "El Gobierno aprueba los presupuestos"],
        ["Meest gelezen", "Kabinet valt", "Reacties"],
        ["Mest lästa", "Regeringen avgår"],
        ["Nejčtenější", "Vláda podala demisi"],
        ["Quelle: Süddeutsche Zeitung", "Alle Rechte vorbehalten."],
        ["Redacción: María López", "Todos los derechos reservados."],
    ):
        assert clean_text(lines(*STORY, *block)) == "\n".join(STORY), block


def test_japanese_and_chinese_boilerplate_goes():
    story_ja = [
        "東京都は五日、都内で新たに百二十人の感染者を確認したと発表した。前の週の同じ曜日より"
        "三十人多く、都は外出を控えるよう改めて呼びかけた。",
        "都の担当者は記者会見で、年末年始の人出が増えたことが影響した可能性があると説明した。",
    ]
    text = lines(
        "2026年1月5日(月) 10時30分",
        story_ja[0],
        "写真：共同",
        "【関連記事】都内の病床使用率、五割を超える",
        story_ja[1],
        "シェアする",
        "関連記事",
        "新型ウイルス、国内の感染者が増加",
        "記事・写真の無断転載を禁じます",
    )
    assert clean_text(text) == "\n".join(story_ja)
    story_zh = [
        "北京市气象台五日发布消息，今年首场降雪将于周末到来，全市大部分地区将出现小到中雪，"
        "气温明显下降，提醒市民注意出行安全。",
        "交通部门表示，已提前安排除雪车辆和人员，确保主要道路畅通。",
    ]
    text = lines(
        "当前位置：首页 > 新闻 > 国内",
        "发布时间：2026年1月5日 10:30",
        story_zh[0],
        "图片来源：视觉中国",
        story_zh[1],
        "（完）",
        "（责任编辑：王五）",
        "相关新闻",
        "北京今年首场降雪到来",
        "版权所有 未经授权不得转载",
    )
    assert clean_text(text) == "\n".join(story_zh)


def test_story_lines_that_hold_the_trigger_words_stay():
    keep = [
        "Foto: Die Kanzlerin spricht am Mittwoch im Bundestag über den Haushalt.",
        "Bild: Ein Mann steht vor dem Rathaus.",
        "Lesen Sie auch die Hinweise der Feuerwehr, bat der Sprecher.",
        "Teilen die Bürger diese Ansicht?",
        "Anzeige gegen Unbekannt wurde erstattet.",
        "Quelle: Die Behörde hat die Zahlen am Montag veröffentlicht.",
        "Dpa und AFP berichteten übereinstimmend.",
        "Lire aussi les rapports de la Cour des comptes aide à comprendre.",
        "Partager les richesses était sa promesse.",
        "Te puede interesar saber que el museo abre gratis.",
        "Imagen: el presidente saluda a los periodistas en Madrid.",
        "Temas como la vivienda dominaron el debate.",
        "Leggi anche tu il libro, ha detto lo scrittore.",
        "Czytaj także, co mówią eksperci.",
        "İlgili haberler dün akşam yayınlandı.",
        "関連記事によると、政府は来年度の予算案をまとめる方針だ。",
        "1月5日，北京发生地震，当局说没有人员伤亡。",
    ]
    for line in keep:
        for text in ([line, *STORY], [STORY[0], line, STORY[1]], [*STORY, line]):
            assert line in clean_text(lines(*text)).splitlines(), (line, text.index(line))
    # a bare "Reacties" / "Comentarios" inside the story is a subheading (after it, a heading)
    for subheading in ("Reacties", "Comentarios", "Diskuse"):
        assert subheading in clean_text(lines(STORY[0], subheading, STORY[1])).splitlines()


def test_is_date_line_in_other_languages_and_scripts():
    rules = default_rules()
    for date in (
        "Aktualisiert am 5. März 2024, 14:30 Uhr",
        "Publicerad 12 maj 2024 kl 08.15",
        "5 listopada 2024, godz. 10:15",
        "12 Ocak 2024 Cuma",
        "2024年1月5日(金) 10時30分",
        "发布时间：2024年1月5日 10:30",
    ):
        assert is_date_line(date, rules), date
    for text in ("1月5日，北京发生地震", "Am 5. März entschied das Gericht"):
        assert not is_date_line(text, rules), text


def test_date_lines_with_french_times_spaced_czech_dates_and_spanish_el():
    rules = default_rules()
    for date in (
        "Publié le 5 décembre 2026 à 08h15",
        "Mis à jour le 5 décembre 2026 à 10h30",
        "Publicado em 05/12/2026 às 10h30",
        "Aktualizováno 5. 12. 2026 10:30",
        "Publicado el 5 de diciembre de 2026",
    ):
        assert is_date_line(date, rules), date
    # a time alone is no date; "10h30" among words is a sentence
    for text in ("10h30", "Le match commence à 20h45 au Stade de France", "5. 12. kolo ligy"):
        assert not is_date_line(text, rules), text


def test_relative_times_go_at_the_start_only():
    for stamp in ("Updated 2 hours ago", "vor 3 Stunden", "il y a 2 heures", "3小时前"):
        assert removed(lines(stamp, *STORY)) == {stamp: "relative-time"}, stamp
    # later in the story it is a quote or a subheading: kept
    assert "2 hours ago" in clean_text(lines(STORY[0], "2 hours ago", *STORY[1:])).splitlines()


def test_player_and_widget_labels_go_between_paragraphs():
    labels = (
        "Listen to this article",
        "Skip to main content",
        "Your browser does not support the video tag.",
        "hide caption",
        "(AP Photo/Evan Vucci)",
        "Comments (12)",
        "Continue reading the main story",
    )
    text = lines(STORY[0], *labels, STORY[1], STORY[2])
    assert clean_text(text) == "\n".join(STORY[:3])
    # a photographer's own credit is kept: it often heads a gallery, and truths keep it
    assert "Photo: Jane Doe" in clean_text(lines(STORY[0], "Photo: Jane Doe", *STORY[1:]))


def test_empty_and_blank_input():
    assert clean_lines("").text == ""
    assert clean_lines(" \n\t\n").removed == ()


# ----------------------------------------------------------------------------- properties

boilerplate = st.sampled_from(
    [
        "Recommended For You",
        "SHARE THIS ARTICLE",
        "4 min read",
        "Home > News",
        "Sign up for our newsletter",
        "24 Jan, 2026",
        "Advertisement",
        "Tags: a, b",
        "— Jo (@jo) May 1, 2024",
        "___",
        "Lesen Sie auch",
        "Foto: dpa",
        "Lire aussi : La réforme",
        "Publicidad",
        "相关新闻",
        "(AFP)",
    ]
)
story_line = st.sampled_from([*STORY, "A short line.", "Another short headline here"])
texts = st.lists(st.one_of(boilerplate, story_line, st.text(max_size=40)), max_size=14).map(
    "\n".join
)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_cleaning_is_idempotent(text):
    once = clean_text(text)
    assert clean_text(once) == once


@settings(max_examples=200, deadline=None)
@given(texts)
def test_cleaning_never_adds_text(text):
    result = clean_lines(text)
    assert len(result.text) <= len(text)
    kept = result.text.splitlines() if result.text else []
    assert len(kept) + len(result.removed) == len([ln for ln in text.splitlines() if ln.strip()])


def test_layout_table_frames_are_seen_without_their_empty_cells():
    text = lines(
        *STORY,
        "|  |  |  |  |  |  |  |  |  |  |  |  |  |",
        "|  | Related Articles |  |  |",
        "| · | Tram depot plans go on show |",
        "| More                        from                  Transport |",
        "|  Share                      this article on |",
        "|  | Cyclists ask for a bridge over the ring road |  |",
    )
    result = clean_lines(text)
    assert result.text == "\n".join(STORY)
    rules = {r.text: r.rule for r in result.removed}
    assert rules["|  | Related Articles |  |  |"] == "related-block"


def test_a_data_table_inside_the_story_stays():
    table = ["| Line | Stops | Opens |", "| T4 | 12 | 2029 |", "| T5 | 9 | 2031 |"]
    text = lines(STORY[0], STORY[1], *table, STORY[2], STORY[3])
    assert clean_text(text) == "\n".join([STORY[0], STORY[1], *table, STORY[2], STORY[3]])


def test_a_tags_heading_takes_the_long_tag_list_under_it():
    tags = (
        "regional council, tram network, public transport, city budget, eastern estates, "
        "schools, hospitals, national government funding"
    )
    result = clean_lines(lines(*STORY, "Tags", tags))
    assert result.text == "\n".join(STORY)
    assert {r.rule for r in result.removed} == {"tag-block"}


def test_is_tag_list():
    assert is_tag_list("Budget, City Council, Elections")
    assert is_tag_list("stock car 2018 | stock car brasil | stock car santa cruz do sul")
    assert not is_tag_list("The council met, the mayor spoke, and the plan passed.")
    assert not is_tag_list("Private Consumption ¦ 1.3 ¦ 1.7 ¦ 2.7")
    assert not is_tag_list("Exports, 2.1, 3.2")


def test_runs_of_spaces_do_not_hide_a_heading():
    heading = "| Related                       articles |"
    result = clean_lines(lines(*STORY, heading, "Tram depot plans go on show"))
    assert result.text == "\n".join(STORY)
    assert {r.text: r.rule for r in result.removed}[heading] == "related-block"


def test_a_layout_tables_menu_goes_and_a_data_table_stays():
    menu = ["|  | Reliability & Quality |  |", "|  |  |", "|  | Driving |  |", "| · | Safety |"]
    data = ["| Load map |  |  |  |  |", "| Save map |  |  |  |  |", "| Sound |  |  |  |  |"]
    scores = ["|  | Martin 10-4-22-0 |", "|  | Mason 8-2-21-2 |", "|  | Oram 5-0-15-1 |"]
    result = clean_lines(lines(STORY[0], *menu, STORY[1], *data, STORY[2], *scores, STORY[3]))
    assert {r.text: r.rule for r in result.removed} == {
        "|  | Reliability & Quality |  |": "table-menu",
        "|  |  |": "punctuation-only",  # a row of empty cells inside the run does not end it
        "|  | Driving |  |": "table-menu",
        "| · | Safety |": "table-menu",
    }
    assert result.text.splitlines() == [STORY[0], STORY[1], *data, STORY[2], *scores, STORY[3]]
    # two such rows are no run: a table's heading rows, kept
    two = clean_text(lines(STORY[0], *menu[2:], STORY[1]))
    assert menu[2] in two.splitlines() and menu[3] in two.splitlines()
