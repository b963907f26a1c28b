"""The ``newsmill`` command line: a thin click layer over the library.

Exit codes: 0 the run did its job (some inputs may have been skipped: see ``-v`` and the
runs ledger), 1 failure, 2 usage error, 75 (``crawl``) another crawl holds the database.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from newsmill.errors import NewsmillError, QueryError, StoreLocked
from newsmill.explain import describe_link
from newsmill.explain import explain as explain_key
from newsmill.extract import use_plain_html_elements
from newsmill.pipeline import NEAR_DUPLICATE_REASONS
from newsmill.store import DEFAULT_DB_PATH, Store

NEAR_DUPLICATE_COUNTS = {f"new:{reason}" for reason in NEAR_DUPLICATE_REASONS.values()}

EXPORT_FIELDS = (
    "hash",
    "url",
    "title",
    "author",
    "published",
    "site",
    "language",
    "language_detected",  # 1: detected from the text, the page declares none (docs/quarantine.md)
    "first_seen",
    "words",
    "cluster",
    "partial",  # 1: a paywall teaser kept with --keep-teasers (docs/quarantine.md)
    "text",
)


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--db``, ``-v`` and ``-q``, shared by every command."""

    @click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_DB_PATH,
        envvar="NEWSMILL_DB",
        show_default=True,
        show_envvar=True,
        help="SQLite database file.",
    )
    @click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv: debug).")
    @click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
    @functools.wraps(fn)
    def wrapper(*args: Any, verbose: int, quiet: bool, **kwargs: Any) -> Any:
        _setup_logging(verbose, quiet)
        ctx = click.get_current_context()
        ctx.meta["quiet"] = quiet
        try:
            return fn(*args, **kwargs)
        except NewsmillError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--keep-teasers`` and ``--languages``, for crawl and ingest (see docs/quarantine.md)."""
    fn = click.option(
        "--languages",
        metavar="CODES",
        help="Keep only articles in these languages, e.g. en,de (others are recorded skips). "
        "A page that declares no language is judged by its text's language; one whose "
        "language can't be told is kept.",
    )(fn)
    return click.option(
        "--keep-teasers",
        is_flag=True,
        help="Store paywall teasers as articles flagged partial (default: quarantined).",
    )(fn)


def _policy(keep_teasers: bool, languages: str | None) -> Any:
    from newsmill.pipeline import Policy, parse_languages

    try:
        codes = parse_languages(languages)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--languages'") from None
    return Policy(keep_teasers=keep_teasers, languages=codes)


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    # trafilatura logs every page it can't extract at warning level; that is our "empty"
    # outcome, already counted and recorded.
    if verbose < 2:
        logging.getLogger("trafilatura").setLevel(logging.ERROR)
        logging.getLogger("htmldate").setLevel(logging.ERROR)


def _say(message: str) -> None:
    if not click.get_current_context().meta.get("quiet"):
        click.echo(message, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsmill")
def cli() -> None:
    """Crawl news, extract and clean articles, keep one deduplicated copy in SQLite."""
    use_plain_html_elements()  # this process is ours (see the function)


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
}
_TIME_UNITS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


class _Quantity(click.ParamType):
    """A number with an optional unit suffix (``10MB``, ``30m``)."""

    def __init__(self, name: str, units: dict[str, int]) -> None:
        self.name = name
        self.units = units

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        text = str(value).strip().lower()
        number = text.rstrip("abcdefghijklmnopqrstuvwxyz ")
        unit = text[len(number) :].strip()
        try:
            result = float(number) * self.units[unit]
        except (ValueError, KeyError):
            self.fail(f"{value!r} is not a {self.name} (e.g. 10 {', '.join(self.units)[4:20]})")
        if result < 0:
            self.fail(f"{value!r} is negative")
        return result


SIZE = _Quantity("size", _SIZE_UNITS)
DURATION = _Quantity("duration", _TIME_UNITS)


@cli.command()
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True, path_type=str)
)
@click.option("--url", help="URL to record for the input (a single file only).")
@click.option(
    "--workers",
    type=click.IntRange(0),
    help="Extraction processes (default: one per CPU; 0: extract in this process).",
)
@click.option(
    "--max-size",
    default="50MB",
    show_default=True,
    type=SIZE,
    metavar="SIZE",
    help="Largest file or archive record accepted, after decompression.",
)
@click.option(
    "--archive-base",
    metavar="DIR|URL",
    help="Where a warc.paths listing's files are: a mirror directory, or a base URL "
    "(default: Common Crawl's, https://data.commoncrawl.org/).",
)
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
@common_options
def ingest(
    paths: tuple[str, ...],
    url: str | None,
    workers: int | None,
    max_size: float,
    archive_base: str | None,
    keep_teasers: bool,
    languages: str | None,
    as_json: bool,
    db_path: Path,
) -> None:
    """Ingest HTML and text files, and web archives (directories are walked recursively).

    Web archives: WARC and ARC files (.warc, .warc.gz, .arc, .arc.gz), "-" for a WARC on
    standard input, or a Common Crawl warc.paths listing (e.g. CC-NEWS's: its files are
    streamed from Common Crawl, or read from --archive-base). Only HTML responses with
    status 200 are read; an archive read to its end before is skipped, one that was cut
    short resumes.

    A file's URL is its canonical or og:url link, else its file:// URI; an archive
    record's is its WARC-Target-URI.

    Examples:

        newsmill ingest data/sample

        newsmill ingest crawl-2024-05.warc.gz

        newsmill ingest warc.paths.gz --archive-base /mnt/cc-news/
    """
    from newsmill.archive import is_archive_name, is_listing_name
    from newsmill.crawl.workers import default_workers, tune_gc
    from newsmill.ingest import file_size, iter_input_files
    from newsmill.ingest import ingest as ingest_paths

    files = [p for p in paths if p != "-" and not Path(p).is_dir()]
    if url and (len(paths) > 1 or not files or Path(files[0]).is_dir()):
        raise click.UsageError("--url names one input file")
    if url and (is_archive_name(files[0]) or is_listing_name(files[0])):
        raise click.UsageError("--url names one HTML or text file, not an archive")
    if paths.count("-") > 1:
        raise click.UsageError("standard input can be read once")
    policy = _policy(keep_teasers, languages)
    if workers is None:
        workers = default_workers()
    tune_gc()
    total = sum(map(file_size, iter_input_files([p for p in paths if p != "-"])))
    with Store.open(db_path) as store:
        show_progress = sys.stderr.isatty() and not click.get_current_context().meta["quiet"]
        streamed = "-" in paths or any(is_listing_name(p) for p in paths)
        progress = _IngestProgress(None if streamed else total, show_progress)
        with progress:
            result = ingest_paths(
                store,
                paths,
                url=url,
                max_bytes=int(max_size),
                workers=workers,
                archive_base=archive_base,
                args={
                    "paths": list(paths),
                    "url": url,
                    "workers": workers,
                    "keep_teasers": keep_teasers,
                    "languages": sorted(policy.languages),
                },
                on_outcome=progress.written,
                on_input=progress.reading,
                keep_outcomes=False,
                policy=policy,
            )
    counts = result.counts
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    if not counts.inputs:
        _say("ingest: no HTML, text or archive files found")
    linked = sum(n for k, n in counts.reasons.items() if k in NEAR_DUPLICATE_COUNTS)
    _say(
        f"ingest: {counts.inputs} inputs: {counts.new} new"
        + (f" ({linked} linked as near-duplicates)" if linked else "")
        + f", {counts.duplicate} duplicate, "
        f"{counts.empty} empty, {counts.failed} failed, {counts.skipped} skipped "
        f"(run {result.run_id}, {result.seconds:.1f}s)"
    )
    if counts.inputs and counts.failed == counts.inputs:
        sys.exit(1)


class _IngestProgress:
    """One status line on stderr (a terminal only; nothing under cron, in pipes or with
    --quiet): bytes read of the inputs, inputs written, their rate, the current file."""

    REFRESH_SECONDS = 0.2

    def __init__(self, total_bytes: int | None, enabled: bool) -> None:
        self.total = total_bytes
        self.enabled = enabled
        self.done_bytes = 0  # of the files finished
        self.current = ""
        self.position = 0
        self.count = 0
        self.started = time.monotonic()
        self.shown = 0.0

    def __enter__(self) -> _IngestProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled and self.shown:
            self._show(force=True)
            click.echo("", err=True)

    def reading(self, name: str, position: int) -> None:
        if name != self.current:
            self.done_bytes += self.position
            self.current, self.position = name, 0
        self.position = position
        self._show()

    def written(self, outcome: object) -> None:
        self.count += 1
        self._show()

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.shown < self.REFRESH_SECONDS):
            return
        self.shown = now
        done = self.done_bytes + self.position
        share = f" {100 * done / self.total:3.0f}%" if self.total else ""
        rate = self.count / max(now - self.started, 1e-6)
        name = self.current if len(self.current) <= 40 else "..." + self.current[-37:]
        line = f"ingest{share} {done / 1e6:,.1f} MB  {self.count} inputs  {rate:.1f}/s  {name}"
        click.echo("\r" + line.ljust(100)[:100], err=True, nl=False)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
@click.option("--site", help="Only articles of this site.")
@click.option(
    "--unique",
    is_flag=True,
    help="One article per near-duplicate cluster: the earliest.",
)
@click.option(
    "--all-revisions",
    is_flag=True,
    help="Every revision of an updated article (with its story and revision number), "
    "not only the latest.",
)
@common_options
def export(
    fmt: str,
    output: Path | None,
    site: str | None,
    unique: bool,
    all_revisions: bool,
    db_path: Path,
) -> None:
    """Write the stored articles as JSON lines or CSV, oldest first.

    Every row carries its near-duplicate ``cluster`` (the hash of the cluster's earliest
    article; an article without near-duplicates is its own cluster). An article updated
    after publication is exported as its latest revision, unless --all-revisions.

    Examples:

        newsmill export --format jsonl -o articles.jsonl

        newsmill export --unique -o corpus.jsonl
    """
    from newsmill.revisions import revision_numbers

    fields = EXPORT_FIELDS + (("story", "revision") if all_revisions else ())
    with Store.open(db_path) as store:
        numbers = revision_numbers(store) if all_revisions else {}
        rows = (
            _export_row(row, fields, numbers)
            for row in store.iter_articles(site=site, unique=unique, all_revisions=all_revisions)
        )
        if output is None:
            n = _write_rows(rows, fmt, sys.stdout, fields)
        else:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                n = _write_rows(rows, fmt, fh, fields)
    _say(f"export: {n} articles")


def _export_row(
    row: dict[str, Any],
    fields: tuple[str, ...] = EXPORT_FIELDS,
    revisions: dict[str, tuple[str, int]] | None = None,
) -> dict[str, Any]:
    if revisions is not None and "story" in fields:
        row["story"], row["revision"] = revisions.get(row["hash"], (row["hash"], 1))
    return {name: row.get(name) for name in fields}


def _write_rows(
    rows: Iterator[dict[str, Any]], fmt: str, out: TextIO, fields: tuple[str, ...] = EXPORT_FIELDS
) -> int:
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        write: Callable[[dict[str, Any]], object] = writer.writerow
    else:

        def write(row: dict[str, Any]) -> object:
            return out.write(json.dumps(row, ensure_ascii=False) + "\n")

    for row in rows:
        write(row)
        n += 1
    return n


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@common_options
def stats(as_json: bool, db_path: Path) -> None:
    """Counts of articles, URLs, sites and runs.

    Example:

        newsmill stats --json
    """
    with Store.open(db_path) as store:
        data = store.stats()
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo(f"database:  {data['database']} ({data['size_bytes'] / 1e6:.1f} MB)")
    click.echo(f"articles:  {data['articles']} ({data['words']} words)")
    click.echo(f"urls:      {data['urls']}")
    click.echo(f"sites:     {data['sites']}")
    click.echo(f"runs:      {data['runs']}")
    if data["archives"]:
        states = ", ".join(f"{n} {status}" for status, n in sorted(data["archives"].items()))
        click.echo(f"archives:  {states} ({data['archive_records']} records ingested)")
    if data["revisions"]:
        click.echo(
            f"revisions: {data['revisions']} (of {data['revised_stories']} articles updated "
            "after they were first stored; export gives the latest)"
        )
    if data["template_backlog"]:
        click.echo(
            f"backlog:   {data['template_backlog']} articles to clean again for learned "
            "template lines (the next crawl or ingest does)"
        )
    if data["first_seen"]:
        click.echo(f"seen:      {data['first_seen']} .. {data['last_seen']}")
    if data["languages"]:
        langs = ", ".join(f"{k} {v}" for k, v in data["languages"].items())
        click.echo(f"languages: {langs}")
    if data["partial"]:
        click.echo(f"partial:   {data['partial']} paywall teasers kept (--keep-teasers)")
    if data["quarantined"]:
        classes = ", ".join(f"{k} {v}" for k, v in data["quarantined"].items())
        click.echo(f"quarantined: {sum(data['quarantined'].values())} pages ({classes})")
    if data["languages_skipped"]:
        langs = ", ".join(f"{k} {v}" for k, v in data["languages_skipped"].items())
        click.echo(f"skipped for language: {langs}")
    last = data["last_run"]
    if last:
        click.echo(
            f"last run:  #{last['id']} {last['command']} {last['status']} {last['started']}: "
            f"{last['new'] or 0} new, {last['duplicate'] or 0} duplicate, "
            f"{last['empty'] or 0} empty, {last['failed'] or 0} failed, "
            f"{last['skipped'] or 0} skipped"
        )


@cli.command()
@click.argument("query")
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(1),
    help="At most this many results.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines output.")
@common_options
def search(query: str, limit: int, as_json: bool, db_path: Path) -> None:
    """Full-text search over titles and texts (SQLite FTS5 syntax).

    Examples:

        newsmill search zelensky

        newsmill search '"security guarantees" NOT russia'
    """
    with Store.open(db_path) as store:
        try:
            rows = store.search(query, limit=limit)
        except QueryError as exc:
            raise click.BadParameter(
                f'{exc}. Use words, "quoted phrases", AND / OR / NOT and prefix*; '
                "quote words that contain punctuation.",
                param_hint="QUERY",
            ) from exc
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(
                f"{row['hash'][:12]}  {row['published'] or '':10}  {row['title'] or row['url']}"
            )
            click.echo(f"              {row['snippet']}")
    _say(f"search: {len(rows)} results")


@cli.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--revisions",
    "with_revisions",
    is_flag=True,
    help="Every revision of the article's story, with fetch times and a word diff.",
)
@common_options
def show(key: str, as_json: bool, with_revisions: bool, db_path: Path) -> None:
    """Show one article by its hash (or a prefix of 6+ hex digits) or one of its URLs.

    A URL shows the article it points to now (an updated article's latest revision).

    Examples:

        newsmill show 3f1c2a

        newsmill show https://example.com/news/story.html --revisions
    """
    from newsmill.revisions import history

    with Store.open(db_path) as store:
        article = store.find_article_by_key(key)
        if article is not None:
            article["cluster_size"] = len(store.neardup.members(article["cluster"]))
            h = article["hash"]
            article["near_duplicates"] = [describe_link(x, h) for x in store.neardup.links(h)]
            if with_revisions:
                article["revisions"] = history(store, h)
    if article is None:
        raise click.ClickException(f"no article with hash or URL {key!r}")
    if with_revisions and not as_json:
        _echo_revisions(article["revisions"])
        return
    if as_json:
        click.echo(json.dumps(article, ensure_ascii=False, indent=2))
        return
    for name in (
        "hash",
        "title",
        "author",
        "published",
        "site",
        "language",
        "first_seen",
        "cluster",
        "cluster_size",
    ):
        if article.get(name):
            click.echo(f"{name + ':':14}{article[name]}")
    for url in article["urls"]:
        click.echo(f"{'url:':14}{url}")
    for note in article["near_duplicates"]:
        click.echo(f"{'linked:':14}{note}")
    click.echo()
    click.echo(article["text"])


def _echo_revisions(rows: list[dict[str, Any]]) -> None:
    """One block per revision: number, hash, fetch time, run, URL, and the word diff
    from the revision before (``[-removed-]``, ``{+added+}``)."""
    from newsmill.revisions import word_diff

    previous_text: str | None = None
    for row in rows:
        latest = "  (latest)" if row["latest"] and len(rows) > 1 else ""
        click.echo(
            f"revision {row['number']}  {row['hash'][:12]}  fetched {row['fetched_at']}  "
            f"run {row['run_id']}{latest}"
        )
        click.echo(f"  {'url:':8}{row['url']}")
        if row.get("title"):
            click.echo(f"  {'title:':8}{row['title']}")
        text = row.get("text")
        if previous_text is not None and text is not None:
            click.echo(f"  {'change:':8}+{row['words_added']} -{row['words_removed']} words")
            for hunk in word_diff(previous_text, text):
                click.echo(f"    {hunk}")
        previous_text = text
    if len(rows) == 1:
        click.echo("  (no other revision)")


@cli.command()
@click.option(
    "--min-size", default=2, show_default=True, type=click.IntRange(1), help="Smallest cluster."
)
@click.option("--limit", type=click.IntRange(1), help="At most this many clusters.")
@click.option("--members", is_flag=True, help="List each cluster's articles too.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines output.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Recompute every signature, link and cluster first (after an upgrade that "
    "changed the near-duplicate parameters).",
)
@common_options
def dups(
    min_size: int,
    limit: int | None,
    members: bool,
    as_json: bool,
    rebuild: bool,
    db_path: Path,
) -> None:
    """List near-duplicate clusters, largest first: size, sites, first and last seen.

    A cluster is named after its earliest article. Nothing is ever deleted: use
    ``export --unique`` for one article per cluster.

    Examples:

        newsmill dups --limit 20

        newsmill dups --members --json
    """
    with Store.open(db_path) as store:
        if rebuild:
            n = store.rebuild_near_duplicates()
            _say(f"dups: rebuilt the near-duplicate index over {n} articles")
        count = 0
        # An earlier revision of an updated article is not an article of its own here.
        latest = "hash not in (select hash from superseded_revisions)"
        for cluster in store.neardup.clusters(min_size=min_size, limit=limit, where=latest):
            count += 1
            rows = store.neardup.members(cluster.id, where=latest) if members else []
            if as_json:
                record: dict[str, Any] = {
                    "cluster": cluster.id,
                    "size": cluster.size,
                    "sites": cluster.sites,
                    "first_seen": cluster.first_seen,
                    "last_seen": cluster.last_seen,
                }
                if members:
                    record["members"] = rows
                click.echo(json.dumps(record, ensure_ascii=False))
                continue
            click.echo(
                f"{cluster.id[:12]}  {cluster.size:>4} articles  {len(cluster.sites):>3} sites  "
                f"{cluster.first_seen} .. {cluster.last_seen}  {', '.join(cluster.sites[:5])}"
                + (" ..." if len(cluster.sites) > 5 else "")
            )
            for row in rows:
                click.echo(
                    f"    {row['hash'][:12]}  {row['first_seen']}  {row['site'] or '?'}  "
                    f"{row['title'] or row['url'] or ''}"
                )
    _say(f"dups: {count} clusters of {min_size} or more articles")


@cli.command()
@click.option("--site", help="Only this site's articles (host such as example.com, or site name).")
@click.option(
    "--quarantined",
    is_flag=True,
    help="Judge the pages kept out (walls, error pages, listings, other languages) again "
    "instead, and store those that are articles now.",
)
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
@common_options
def reprocess(
    site: str | None,
    quarantined: bool,
    keep_teasers: bool,
    languages: str | None,
    as_json: bool,
    db_path: Path,
) -> None:
    """Clean stored articles again with the current rules and learned site templates.

    Articles are re-extracted from their stored raw HTML (text inputs are cleaned again from
    their stored text). An article whose text changes moves to its new hash, with its URLs,
    pages, events and cluster, or merges into the article that already has that hash.

    With --quarantined, the pages kept out of the articles are judged again instead, from
    their stored raw HTML, with the current classifier and the --keep-teasers and
    --languages given now: those that pass are stored as articles, the others stay out.

    Examples:

        newsmill reprocess --site example.com

        newsmill reprocess --quarantined --keep-teasers
    """
    from newsmill.reprocess import reconsider_kept_out
    from newsmill.reprocess import reprocess as run_reprocess

    if not quarantined and (keep_teasers or languages):
        raise click.UsageError("--keep-teasers and --languages go with --quarantined")
    with Store.open(db_path) as store:
        if quarantined:
            result = reconsider_kept_out(
                store,
                policy=_policy(keep_teasers, languages),
                site=site,
                args={
                    "quarantined": True,
                    "site": site,
                    "keep_teasers": keep_teasers,
                    "languages": languages,
                },
            )
        else:
            result = run_reprocess(store, site=site, args={"site": site})
    counts = result.counts
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    if quarantined:
        _say(
            f"reprocess: {counts.inputs} pages kept out: {counts.new} now stored, "
            f"{counts.duplicate} copies of stored articles, {counts.skipped} still kept out, "
            f"{counts.empty} empty, {counts.failed} failed "
            f"(run {result.run_id}, {result.seconds:.1f}s)"
        )
        return
    _say(
        f"reprocess: {counts.inputs} articles: {counts.new} rehashed, {counts.duplicate} merged, "
        f"{counts.skipped} unchanged, {counts.empty} kept (no article on re-extraction), "
        f"{counts.failed} failed (run {result.run_id}, {result.seconds:.1f}s)"
    )


@cli.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@common_options
def explain(key: str, as_json: bool, db_path: Path) -> None:
    """Say why an input was stored, linked or skipped, and what cleaning removed from it.

    KEY is an article hash (or a prefix of 6+ hex digits), a URL, a file path, or a hash the
    article had before it was cleaned again (the command says where it went). The report
    lists each input's outcome (new, exact copy, near-duplicate of X at similarity 0.93,
    empty extraction, ...), which extraction path produced the text (fast, full, structured
    data) and why, the article's near-duplicate links, and which rule or learned
    site template removed which line.

    Examples:

        newsmill explain 3f1c2a

        newsmill explain https://example.com/news/story.html
    """
    from newsmill.templates import explain as explain_cleaning

    with Store.open(db_path) as store:
        result = explain_key(store, key)
        cleaning = explain_cleaning(store, key)
        article = _article_of(store, result.article, cleaning)
    extraction = article.get("extraction") if article else None
    language = _language_of(article)
    if not result.events and result.article is None and cleaning is None:
        raise click.ClickException(f"nothing recorded for {key!r}")
    if as_json:
        data = {
            **result.as_dict(),
            "hash": cleaning["hash"] if cleaning else result.as_dict()["article"],
            "extraction": extraction,
            "language": language,
            "cleaning": cleaning,
        }
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    if cleaning and cleaning["moved_from"]:
        last = cleaning["moves"][-1]
        click.echo(
            f"{cleaning['moved_from']} is now {cleaning['hash']} "
            f"({last['reason']}, run {last['run_id']}{', merged' if last['merged'] else ''})"
        )
    for line in result.lines():
        click.echo(line)
    if extraction:
        path, _, why = extraction.partition(": ")
        click.echo(f"{'extraction:':12}{path}" + (f" ({why})" if why else ""))
    if language:
        how = "detected from the text: the page declares none" if language["detected"] else ""
        click.echo(f"{'language:':12}{language['code']}" + (f" ({how})" if how else ""))
    if cleaning:
        _echo_cleaning(cleaning)


def _article_of(
    store: Store, article: dict[str, Any] | None, cleaning: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The article row explain reports on: the one its key names, or where it moved. Its
    ``extraction`` says which extraction path produced the text, and why (None for
    articles stored before newsmill recorded it)."""
    if cleaning and (article is None or article["hash"] != cleaning["hash"]):
        article = store.find_article(cleaning["hash"])
    return article


def _language_of(article: dict[str, Any] | None) -> dict[str, Any] | None:
    """The article's language and whether it was detected from the text (None: unknown)."""
    if not article or not article.get("language"):
        return None
    return {"code": article["language"], "detected": bool(article.get("language_detected"))}


def _echo_cleaning(report: dict[str, Any]) -> None:
    if report["site"]:
        click.echo(f"{'site:':12}{report['site']} ({report['site_articles']} articles)")
    for move in report["came_from"]:
        click.echo(f"{'was:':12}{move['old_hash']} ({move['reason']}, run {move['run_id']})")
    removed = report["removed"]
    click.echo(f"removed:    {len(removed)} lines")
    for row in removed:
        line = row["line"] if len(row["line"]) <= 100 else row["line"][:99] + "…"
        click.echo(f"  [{row['rule']}] {line}")


@cli.command(name="templates")
@click.argument("site")
@click.option("--json", "as_json", is_flag=True, help="JSON lines output.")
@common_options
def templates_command(site: str, as_json: bool, db_path: Path) -> None:
    """List the lines learned as template for SITE (a host such as example.com).

    Example:

        newsmill templates presstv.ir
    """
    from newsmill.templates import site_templates

    with Store.open(db_path) as store:
        rows = site_templates(store, site.lower().removeprefix("www."))
        articles = store.site_article_count(site.lower().removeprefix("www."))
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{row['articles']:6}  {row['line']}")
    _say(f"templates: {len(rows)} lines learned from {articles} articles of {site}")


@cli.group()
def rules() -> None:
    """The cleaner's boilerplate rules."""


@rules.command(name="test")
def rules_test() -> None:
    """Check the shipped rule files' own examples: lines each cleaning rule must remove or
    keep (rules.toml), texts each block pattern must match or not (blocks.toml).

    Example:

        newsmill rules test
    """
    from newsmill.classify import check_block_examples
    from newsmill.clean import check_rule_examples

    failures = check_rule_examples() + [f"blocks.toml: {p}" for p in check_block_examples()]
    for failure in failures:
        click.echo(f"FAIL {failure}")
    if failures:
        raise click.ClickException(f"{len(failures)} rule examples failed")
    click.echo("rules: all examples pass", err=True)


@cli.command()
@click.argument("urls", nargs=-1)
@click.option(
    "--sources",
    "sources_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML file listing sites, their feeds and sitemaps, and per-site settings.",
)
@click.option(
    "--depth",
    default=1,
    show_default=True,
    type=click.IntRange(0),
    help="Link hops followed from a site or section page.",
)
@click.option("--max-pages", type=click.IntRange(1), help="Fetch at most this many article pages.")
@click.option(
    "--max-runtime",
    type=DURATION,
    metavar="DURATION",
    help="Stop after this long (e.g. 600, 20m, 1h); in-flight pages finish.",
)
@click.option(
    "--refresh",
    is_flag=True,
    help="Refetch article pages already stored, and ignore ETag/Last-Modified.",
)
@click.option(
    "--revisit",
    default="24h",
    show_default=True,
    type=DURATION,
    metavar="DURATION",
    help="Fetch again (conditional GET) stored articles first seen this recently; a changed "
    "text becomes a revision (0: never).",
)
@click.option("--no-revisit", is_flag=True, help="Same as --revisit 0.")
@click.option(
    "--revisit-max",
    default=300,
    show_default=True,
    type=click.IntRange(0),
    help="Revisit at most this many URLs per run, least recently checked first.",
)
@click.option(
    "--delay",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds between requests to one site (AutoThrottle adapts from there; 0 turns both off).",
)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds before a request is abandoned.",
)
@click.option(
    "--retries",
    default=2,
    show_default=True,
    type=click.IntRange(0),
    help="Retries of a request that failed with a timeout or 5xx/429.",
)
@click.option(
    "--max-size",
    default="10MB",
    show_default=True,
    type=SIZE,
    metavar="SIZE",
    help="Largest response accepted, after decompression.",
)
@click.option(
    "--contact",
    envvar="NEWSMILL_CONTACT",
    show_envvar=True,
    help="URL or e-mail for site owners, sent in the User-Agent.",
)
@click.option(
    "--workers",
    type=click.IntRange(0),
    help="Extraction processes (default: one per CPU; 0: extract in the crawler).",
)
@click.option(
    "--http-handler",
    type=click.Choice(["aiohttp", "twisted"]),
    default="aiohttp",
    show_default=True,
    help="Scrapy download handler (see docs/crawl.md for why aiohttp is the default).",
)
@click.option(
    "--warc",
    "warc_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write every response fetched (and its request) into WARC files in this directory.",
)
@click.option(
    "--warc-max-size",
    default="1GB",
    show_default=True,
    type=SIZE,
    metavar="SIZE",
    help="Start a new WARC file when the current one would grow past this size.",
)
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write logs to this file instead of stderr.",
)
@common_options
def crawl(
    urls: tuple[str, ...],
    sources_file: Path | None,
    depth: int,
    max_pages: int | None,
    max_runtime: float | None,
    refresh: bool,
    revisit: float,
    no_revisit: bool,
    revisit_max: int,
    delay: float,
    timeout: float,
    retries: int,
    max_size: float,
    contact: str | None,
    workers: int | None,
    http_handler: str,
    warc_dir: Path | None,
    warc_max_size: float,
    keep_teasers: bool,
    languages: str | None,
    as_json: bool,
    log_file: Path | None,
    db_path: Path,
) -> None:
    """Crawl news sites: feeds, sitemaps and article links, politely and incrementally.

    Each URL may be an RSS/Atom/JSON feed, a sitemap (plain, gzipped, index, Google News),
    a robots.txt, or a site or section page; newsmill tells which from the response. From a
    page it finds feeds, robots.txt sitemaps and article links on the same site.

    Pages whose article is stored are not fetched again, except revisits: articles first
    seen within --revisit are fetched again with ETag/If-Modified-Since (at most hourly),
    and a text that changed beyond a trivial edit is stored as a new revision of its story.
    Feeds and sitemaps are fetched with ETag/If-Modified-Since. A second crawl running on
    the same database exits at once with code 75.

    Examples:

        newsmill crawl https://example.com/news/

        newsmill crawl --sources sites.toml --max-runtime 25m --log-file crawl.log

        newsmill crawl https://example.com/news/ --warc archive/ --warc-max-size 100MB
    """
    from newsmill.crawl.workers import discard_early_pool, start_pool_early
    from newsmill.lock import EXIT_LOCKED
    from newsmill.sources import load_sources, sources_from_urls

    if not urls and not sources_file:
        raise click.UsageError("give URLs to crawl, or --sources FILE")
    policy = _policy(keep_teasers, languages)

    if log_file is not None:
        root = logging.getLogger()
        level = root.level
        logging.basicConfig(
            filename=log_file,
            level=level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            force=True,
        )
    root = logging.getLogger()
    for handler in root.handlers:
        # Scrapy pins its own loggers at DEBUG; records propagate to our handler whatever
        # the root level, so the handler filters them.
        handler.setLevel(root.level)
    sources = list(sources_from_urls(urls)) if urls else []
    if sources_file is not None:
        sources += load_sources(sources_file)
    # The extraction workers load trafilatura while this process loads Scrapy (a 100-page
    # crawl of a local site took 1.96 s instead of 2.12 s). A crawl that then finds the
    # database locked shuts them down.
    start_pool_early(workers)
    from newsmill.crawl.addon import DEFAULT_CONTACT
    from newsmill.crawl.runner import CrawlConfig, run_crawl
    from newsmill.crawl.workers import tune_gc

    tune_gc()  # the crawling process too: Scrapy and newsmill are loaded, and stay
    if warc_dir is not None:
        from newsmill.crawl.warc import WarcError, prepare_directory

        try:
            prepare_directory(warc_dir)
        except WarcError as exc:
            discard_early_pool()
            raise click.BadParameter(str(exc), param_hint="'--warc'") from None

    config = CrawlConfig(
        db_path=db_path,
        sources=tuple(sources),
        depth=depth,
        max_pages=max_pages,
        max_runtime=max_runtime,
        refresh=refresh,
        revisit=0.0 if no_revisit else revisit,
        revisit_max=revisit_max,
        delay=delay,
        timeout=timeout,
        retries=retries,
        max_size=int(max_size),
        contact=contact or DEFAULT_CONTACT,
        workers=workers,
        http_handler=http_handler,
        warc_dir=warc_dir,
        warc_max_size=int(warc_max_size),
        keep_teasers=policy.keep_teasers,
        languages=tuple(sorted(policy.languages)),
    )
    try:
        summary = run_crawl(config)
    except StoreLocked as exc:
        click.echo(f"newsmill crawl: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    finally:
        discard_early_pool()  # when the crawl did not take it
    data = summary.as_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
    revised = data["reasons"].get("new:revision", 0)
    _say(
        f"crawl: {data['fetched']} fetched, {data['new']} new"
        + (f" ({revised} revision{'s' if revised > 1 else ''})" if revised else "")
        + f", {data['duplicate']} duplicate, "
        f"{data['empty']} empty, {data['failed']} failed, {data['skipped']} skipped, "
        f"{data['not_modified']} not modified, {data['robots_denied']} robots denied, "
        f"{data['known']} known, {data['revisited']} revisited "
        f"(run {summary.run_id}, {summary.status}, "
        f"{summary.seconds:.1f}s)"
    )
    if summary.status in ("failed", "interrupted"):
        sys.exit(1)
