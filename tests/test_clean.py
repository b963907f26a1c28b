"""The cleaner on plain text: one test per kind of boilerplate, plus properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsmill.clean import clean_lines, clean_text, default_rules, is_date_line

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
