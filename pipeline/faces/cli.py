"""The ``claims`` command: one subcommand per stage, ``run`` for all of them, and the labelling loop."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipeline import config
from pipeline.config import DEFAULT_SETTINGS

DESCRIPTION = f"""Turn medical Q&A threads into a traceable claim dataset.

Stages (each skipped when nothing it depends on changed; --force re-runs it):
  segment   thread files -> answers.csv (question and answers, title and body)
  extract   answers.csv -> claims.csv (typed claims with negation, hedging, durations)
  train     the annotated corpus + hand labels -> a new model version in models/
  classify  stance for claims and answers, and summary.csv
  run       segment, extract and classify with the current model (the shipped one if there is none)

The labelling loop:
  label export   the claims the current model is least sure of, as a CSV to fill in
  label import   merge a filled-in CSV into the labels file
  evaluate       the current model's figures on the frozen evaluation set -> {config.PROJECT_EVALUATION}/
  report         an HTML report with figures: stance per thread, durations, claim types, evidence
  show FILE      one file's threads with their claims marked (--html: displaCy's span view)
  init [DIR]     lay out a project folder; the paths below default to it (the current folder)
  models list | compare A B | use VERSION | trust FILE | ship
"""

EXIT_OK, EXIT_SKIPPED_INPUT, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130  # as a shell reports a command stopped by Ctrl-C


def say(text, file=None) -> None:
    """Print a line to the terminal with nothing from the input raw in it (escape sequences shown, not obeyed)."""
    from pipeline.io.files import printable

    print(printable(text), file=file or sys.stdout)


def _positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1 (so '--jobs -1' is a usage error, not an internal one)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def _add_common(parser: argparse.ArgumentParser, with_input: bool = True) -> None:
    if with_input:
        parser.add_argument("--input", type=Path, default=config.PROJECT_INPUT,
                            help="a thread file or a folder of them (default: %(default)s)")
        parser.add_argument("--propositions", type=Path,
                            help="CSV of thread_id, proposition[, question_kind]: the proposition each thread's "
                                 "answers take a stance on, given by hand instead of read from its question")
        parser.add_argument("--follow-links", action="store_true",
                            help="read symbolic links to files outside the input folder (by default each is refused "
                                 "with a row in errors.csv)")
    parser.add_argument("--out", type=Path, default=config.PROJECT_OUT,
                        help="folder for the output tables (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="re-run even if nothing changed")
    parser.add_argument("--spacy-model", default=DEFAULT_SETTINGS.extract.spacy_model,
                        help="'blank:en' (default, no download) or an installed trained pipeline such as en_core_web_sm")
    parser.add_argument("--segmenter", choices=("combined", "learned", "rules"), default=DEFAULT_SETTINGS.segment.segmenter,
                        help="how pages are split into question and answers: 'combined' (default), a CRF over the "
                             "page's lines trained on the annotated corpus with the rules' reading taken where they "
                             "find three or more answers and it fewer; 'learned', the CRF alone; 'rules', the line "
                             "rules alone (docs/accuracy.md, 'Learned segmentation')")
    parser.add_argument("--claim-detector", choices=("learned", "rules"), default=DEFAULT_SETTINGS.extract.claim_detector,
                        help="how claims are decided: 'learned' (default), a classifier per sentence and claim type "
                             "with the cue rules among its features, trained on the annotated corpus, or 'rules', "
                             "the cues and their contexts alone (docs/accuracy.md, 'Learned claim detection')")


def _add_models(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=Path, default=config.PROJECT_MODELS,
                        help="folder of the model versions and their cards (default: %(default)s)")


def _add_gold(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gold", type=Path, default=config.GOLD_DIR,
                        help="the annotated corpus's gold files: the dev part trains, the test part is the frozen "
                             "evaluation set (default: %(default)s)")
    parser.add_argument("--gold-threads", type=Path, default=config.CORPUS_DIR,
                        help="the thread texts the gold files annotate (default: %(default)s)")


def _add_labels(parser: argparse.ArgumentParser, train_input: bool = False) -> None:
    parser.add_argument("--labels", type=Path, default=config.PROJECT_LABELS,
                        help="hand stance labels (default: %(default)s)")
    _add_gold(parser)
    if train_input:
        parser.add_argument("--train-input", type=Path, default=config.PROJECT_INPUT,
                            help="thread files the labels refer to (default: %(default)s)")


def _loudness(dest: str = "verbosity") -> argparse.ArgumentParser:
    """-q and -v, accepted before the command (`claims -q run`: the main parser's, into `verbosity_before`) and
    after it (`claims run -q`, `claims models -q list`: each command's, into `verbosity`); `verbosity_of` joins
    the two. A command's default is SUPPRESS, so a subcommand that is not given one keeps its command's."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_mutually_exclusive_group()
    default = argparse.SUPPRESS if dest == "verbosity" else None
    group.add_argument("-q", "--quiet", action="store_const", const=0, dest=dest, default=default,
                       help="print errors only (and nothing on success)")
    group.add_argument("-v", "--verbose", action="store_const", const=2, dest=dest, default=default,
                       help="also print details: which model is in use and whether it is up to date")
    return parent


def verbosity_of(parser: argparse.ArgumentParser, args) -> int | None:
    """The -q or -v given before or after the command (None: neither); both, and different, is a usage error."""
    before, after = getattr(args, "verbosity_before", None), getattr(args, "verbosity", None)
    if before is not None and after is not None and before != after:
        parser.error("-q and -v together: give one of them")
    return after if after is not None else before


def build_parser() -> argparse.ArgumentParser:
    from pipeline import __version__

    parser = argparse.ArgumentParser(prog="claims", description=DESCRIPTION,
                                     parents=[_loudness("verbosity_before")],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"claims {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_common(commands.add_parser("segment", parents=[_loudness()], help="split threads into question and answers -> answers.csv"))
    extract = commands.add_parser("extract", parents=[_loudness()],
                                  help="sentences and typed claims of OUT/answers.csv -> claims.csv")
    _add_common(extract, with_input=False)
    extract.add_argument("--input", type=Path, help=argparse.SUPPRESS)  # accepted as before, not read: answers.csv
    # carries the text
    train = commands.add_parser("train", parents=[_loudness()], help="train a new stance model version from the labels")
    _add_common(train)
    _add_models(train)
    _add_labels(train)
    train.add_argument("--promote", action="store_true", help="make the new version current even if it scores worse")
    classify = commands.add_parser("classify", parents=[_loudness()], help="stance for claims and answers, and summary.csv")
    _add_common(classify, with_input=False)
    _add_models(classify)
    classify.add_argument("--model", help="a version to use instead of the current one")
    run = commands.add_parser("run", parents=[_loudness()], help="segment, extract and classify in chunks with the current model "
                                          "(the shipped one, or one trained first, if there is none)")
    _add_common(run)
    _add_models(run)
    _add_labels(run, train_input=True)
    run.add_argument("--jobs", type=_positive_int, default=None,
                     help="processes (or Dask workers of a local cluster); default: all cores. Output is the same")
    run.add_argument("--format", choices=("csv", "parquet"), default="csv", dest="output_format",
                     help="'parquet' also writes each table as Parquet, typed (optional extra: pip install -e "
                          "\".[parquet]\"); the CSVs stay, as the other commands read them (default: %(default)s)")
    run.add_argument("--backend", choices=("local", "dask"), default="local",
                     help="'local' processes (joblib) or a Dask cluster (default: %(default)s)")
    run.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tls://10.0.0.5:8786 "
                                         "(default with --backend dask: a local cluster, TLS with throwaway keys)")
    run.add_argument("--tls-ca-file", help="with --scheduler: the CA certificate the scheduler's is signed by")
    run.add_argument("--tls-cert", help="with --scheduler: this client's certificate (PEM; may hold the key too)")
    run.add_argument("--tls-key", help="with --scheduler: this client's private key, if not in --tls-cert")

    label = commands.add_parser("label", parents=[_loudness()], help="export uncertain claims to label, or import labels").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    export = label.add_parser("export", parents=[_loudness()], help="the claims the current model is least sure of -> a CSV to fill in")
    export.add_argument("--n", type=int, default=20, help="how many (default: %(default)s)")
    export.add_argument("--by", choices=("margin", "entropy"), default="margin",
                        help="uncertainty measure (default: %(default)s)")
    export.add_argument("--answers", action="store_true", help="also export uncertain answers")
    export.add_argument("--file", type=Path, help="where to write (default: OUT/to_label.csv)")
    export.add_argument("--out", type=Path, default=config.PROJECT_OUT, help="folder of a run (default: %(default)s)")
    _add_models(export)
    export.add_argument("--labels", type=Path, default=config.PROJECT_LABELS, help="labels already given (default: %(default)s)")
    imported = label.add_parser("import", parents=[_loudness()], help="validate a filled-in CSV and merge it into the labels file")
    imported.add_argument("file", type=Path, help="the filled-in CSV: the file 'label export' wrote (by default "
                                                  "OUT/to_label.csv) with its label column filled in")
    imported.add_argument("--out", type=Path, default=config.PROJECT_OUT,
                          help="folder of the run it came from: its claims.csv and answers.csv are what the rows "
                               "must match (default: %(default)s)")
    imported.add_argument("--labels", type=Path, default=config.PROJECT_LABELS,
                          help="labels file to merge into (default: %(default)s)")
    imported.add_argument("--annotator", help="who labelled (default: the file's annotator column, else your user name)")

    evaluate = commands.add_parser("evaluate", parents=[_loudness()],
                                   help="a model's figures on the frozen set -> metrics.json, metrics.txt, PNGs in "
                                        f"{config.PROJECT_EVALUATION}")
    evaluate.add_argument("--out", type=Path, default=config.PROJECT_EVALUATION,
                          help="folder for metrics.json, metrics.txt and the figures, a folder of their own: not a "
                               "run's folder nor the report's (default: %(default)s)")
    evaluate.add_argument("--model", help="a version (default: the current one)")
    evaluate.add_argument("--force", action="store_true", help="re-run even if nothing changed")
    _add_models(evaluate)
    _add_gold(evaluate)

    show = commands.add_parser("show", parents=[_loudness()],
                               help="one file's threads with their claims marked: in the terminal, or --html "
                                    "with displaCy's span view")
    show.add_argument("file", type=Path, help="a thread file (any input format)")
    show.add_argument("--html", type=Path, help="also write the span view to this HTML file")
    show.add_argument("--no-stance", action="store_true", help="leave stance out (no model is loaded)")
    _add_models(show)

    init = commands.add_parser("init", parents=[_loudness()],
                               help="lay out a project folder: data/raw (threads, labels), data/processed, models")
    init.add_argument("folder", type=Path, nargs="?", default=Path("."), help="where (default: the current folder)")

    report = commands.add_parser("report", parents=[_loudness()], help="an HTML report with figures of a run -> OUT/report/")
    report.add_argument("--out", type=Path, default=config.PROJECT_OUT, help="folder of a run (default: %(default)s)")
    report.add_argument("--report-dir", type=Path, help="where to write (default: OUT/report)")
    report.add_argument("--force", action="store_true", help="re-run even if nothing changed")

    models = commands.add_parser("models", parents=[_loudness()], help="list, compare or choose model versions").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    _add_models(models.add_parser("list", parents=[_loudness()], help="the versions with their figures"))
    compare = models.add_parser("compare", parents=[_loudness()], help="two versions on the frozen set, and the claims that changed")
    compare.add_argument("first", help="a version, e.g. stance-0001 (as 'claims models list' names them)")
    compare.add_argument("second", help="another version: the table gives its claim macro-F1 minus FIRST's")
    compare.add_argument("--out", type=Path, help="also write changed_predictions.csv here")
    _add_models(compare)
    _add_gold(compare)
    use = models.add_parser("use", parents=[_loudness()], help="make a version current")
    use.add_argument("version", help="a version, e.g. stance-0002 (as 'claims models list' names them)")
    _add_models(use)
    ship = models.add_parser("ship", parents=[_loudness()],
                             help="maintainers: the current version of the repository's models/ becomes the model "
                                  "the package ships (see pipeline/learning/shipped.py)")
    _add_models(ship)
    trusted = models.add_parser("trust", parents=[_loudness()], help="allow loading a model file trained elsewhere (loading one runs code)")
    trusted.add_argument("file", type=Path, help="the .joblib file, as it is now (its sha256 is recorded)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from pipeline.io import files

    verbosity = verbosity_of(parser, args)
    files.VERBOSITY["level"] = files.NORMAL if verbosity is None else verbosity
    try:
        return _dispatch(args)
    except BrokenPipeError:  # `claims show FILE | head`: the reader has what it wanted; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit would fail on the closed pipe too
        return EXIT_OK
    except KeyboardInterrupt:
        say(f"claims {args.command}: interrupted; outputs already written are intact, and 'claims run' "
              "resumes at the first unfinished chunk when run again", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        if _user_error(err):  # bad input, rules, model or output folder: the message says what and where
            say(f"claims {args.command}: error: {err}", file=sys.stderr)
            return EXIT_ERROR
        import traceback  # a bug, not bad input: say so, and keep exit code 1 for skipped input

        traceback.print_exc()
        say(f"claims {args.command}: internal error ({type(err).__name__}: {err}); please report it",
              file=sys.stderr)
        return EXIT_ERROR


# the errors that are the user's to fix, by module: a command that never imported a module cannot raise its
# error, so none of them is imported only to be caught (pipeline.components alone imports spaCy)
USER_ERRORS = (("pipeline.io.files", "InputError"), ("pipeline.io.files", "MissingExtraError"),
               ("pipeline.components.rules", "RulesError"), ("pipeline.io.outputs", "OutputFolderError"),
               ("pipeline.learning.registry", "ModelTrustError"))


def _user_error(err: BaseException) -> bool:
    return isinstance(err, OSError) or any(
        isinstance(err, getattr(sys.modules[module], name)) for module, name in USER_ERRORS if module in sys.modules)


def _gold(args):
    from pipeline.measuring.gold_sets import GoldCorpus

    return GoldCorpus(args.gold, args.gold_threads)


def settings_of(args):
    """The settings the command line changes: the spaCy pipeline, propositions, links, the output format."""
    propositions = getattr(args, "propositions", None)
    return DEFAULT_SETTINGS.replace(spacy_model=getattr(args, "spacy_model", DEFAULT_SETTINGS.extract.spacy_model),
                                    propositions_file=str(propositions) if propositions else "",
                                    follow_links=getattr(args, "follow_links", False),
                                    output_format=getattr(args, "output_format", "csv"),
                                    segmenter=getattr(args, "segmenter", DEFAULT_SETTINGS.segment.segmenter),
                                    claim_detector=getattr(args, "claim_detector",
                                                           DEFAULT_SETTINGS.extract.claim_detector))


def _dispatch(args) -> int:
    from pipeline.io.files import InputError, log

    settings = settings_of(args)
    if args.command == "show":  # before anything else is imported: a wrong path is said at once
        if not (Path(args.file).exists() or Path(args.file).is_symlink()):
            from pipeline.io.files import utf8_text

            raise InputError(utf8_text(str(args.file)), "no such file or folder")  # as the readers say it
        from pipeline.faces.show import show

        say(show(args.file, args.html, None if args.no_stance else args.models, settings))
        if args.html:
            log(f"show: span view -> {args.html}")
        return EXIT_OK
    from pipeline.learning import annotate, registry, versions
    from pipeline.runner import commands

    if args.command == "label":
        if args.action == "export":
            annotate.label_export(args.out, args.models, args.labels, args.n, args.by, args.answers, args.file)
        else:
            annotate.label_import(args.file, args.out, args.labels, args.annotator)
        return EXIT_OK
    if args.command == "report":
        outcome = commands.report(args.out, args.report_dir, args.force)
        where = Path(args.report_dir or Path(args.out) / "report")
        if outcome.ran:
            log(f"report: {where / 'report.html'} and {len(outcome.artifacts['report']) - 2} figures")
        return EXIT_OK
    if args.command == "init":
        made = commands.init_project(args.folder)
        log(f"init: {args.folder}: " + (", ".join(str(p) for p in made) if made else "already laid out")
            + "; put thread files in data/raw/ and run 'claims run' there")
        return EXIT_OK
    if args.command == "evaluate":
        commands.evaluate(args.models, args.out, settings, args.model, _gold(args), args.force)
        say((Path(args.out) / "metrics.txt").read_text(encoding="utf-8"))  # also when nothing changed
        return EXIT_OK
    if args.command == "models":
        if args.action == "list":
            table = versions.models_table(args.models)
            say(table.to_string(index=False) if len(table) else f"no model versions in {args.models}")
        elif args.action == "trust":
            from pipeline.io import trust

            sha256 = trust.trust_file(args.file)
            say(f"{args.file} (sha256 {sha256[:12]}...) is trusted: recorded in {trust.store_path()}")
        elif args.action == "ship":
            from pipeline.learning import shipped

            version = shipped.ship(args.models)
            say(f"{version} is the model the package ships: commit {args.models} and "
                  "pipeline/resources/shipped_models.json")
        elif args.action == "use":
            from pipeline.io import outputs

            with outputs.locked(args.models):
                registry.set_current(args.models, args.version)
            say(f"{args.version} is now current")
        else:
            table, changed = versions.compare_models(args.models, args.first, args.second, settings, _gold(args),
                                                     args.out)
            say(table.to_string())
            say(f"\n{len(changed)} claims of the frozen set change their predicted stance"
                  + (":" if len(changed) else "."))
            if len(changed):
                say(changed.to_string(index=False, max_colwidth=70))
        return EXIT_OK

    outcome = None
    if args.command == "segment":
        outcome = commands.segment(args.input, args.out, settings, args.force)
    if args.command == "extract":
        outcome = commands.extract(args.out, settings, args.force)
    if args.command == "train":
        commands.train(args.input, args.labels, args.models, args.out, settings, args.force, args.promote, _gold(args))
    if args.command == "classify":
        outcome = commands.classify(args.out, args.models, settings, args.force, args.model)
    if args.command == "run":
        commands.check_input(args.input, args.out)  # a wrong --input: said before anything is trained or written
        commands.ensure_model(args.train_input, args.labels, args.models, args.out, settings, _gold(args))
        tls = None
        if args.tls_ca_file or args.tls_cert or args.tls_key:
            from pipeline.runner.chunked import TLSFiles

            if not (args.tls_ca_file and args.tls_cert):
                raise InputError("--tls-cert", "TLS needs both --tls-ca-file and --tls-cert")
            tls = TLSFiles(args.tls_ca_file, args.tls_cert, args.tls_key)
        outcome = commands.run(args.input, args.out, args.models, settings, args.force, args.jobs, args.backend,
                               args.scheduler, tls)
    skipped = outcome.errors if outcome is not None and args.command in ("segment", "extract", "run") else []
    if skipped:
        if args.command != "run":  # run's closing summary says so
            log(f"claims {args.command}: {len(skipped)} input item(s) skipped; see errors.csv in {args.out}")
        return EXIT_SKIPPED_INPUT
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
