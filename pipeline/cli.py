"""The ``claims`` command: one subcommand per stage, and ``run`` for all of them."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from pipeline import config
from pipeline.config import DEFAULT_SETTINGS

DESCRIPTION = """Turn medical Q&A threads into a traceable claim dataset.

Stages (each skipped when nothing it depends on changed; --force re-runs it):
  segment   thread files -> answers.csv (question and answers, title and body)
  extract   answers.csv -> claims.csv (typed claims with negation, hedging, durations)
  train     hand labels + weak labels -> models/stance.joblib and its card
  classify  stance for claims and answers, and summary.csv
  run       all of the above
"""

EXIT_OK, EXIT_SKIPPED_INPUT, EXIT_ERROR = 0, 1, 2


def _add_common(parser: argparse.ArgumentParser, with_input: bool = True) -> None:
    if with_input:
        parser.add_argument("--input", type=Path, default=config.RAW_DIR,
                            help="a thread file or a folder of them (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=config.PROCESSED_DIR,
                        help="folder for the output tables (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="re-run even if nothing changed")
    parser.add_argument("--spacy-model", default=DEFAULT_SETTINGS.spacy_model,
                        help="'blank:en' (default, no download) or an installed trained pipeline such as en_core_web_sm")


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=Path, default=config.MODELS_DIR,
                        help="folder of the stance model and its card (default: %(default)s)")


def _add_training(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    parser.add_argument(f"--{prefix}labels", dest="labels", type=Path, default=config.LABELS_FILE,
                        help="hand stance labels (default: %(default)s)")
    if prefix:
        parser.add_argument("--train-input", type=Path, default=config.RAW_DIR,
                            help="thread files the labels refer to (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="claims", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    segment = commands.add_parser("segment", help="split threads into question and answers -> answers.csv")
    _add_common(segment)
    extract = commands.add_parser("extract", help="sentences and typed claims -> claims.csv")
    _add_common(extract)
    train = commands.add_parser("train", help="train the stance classifier from the labels file")
    _add_common(train)
    _add_model(train)
    _add_training(train)
    classify = commands.add_parser("classify", help="stance for claims and answers, and summary.csv")
    _add_common(classify, with_input=False)
    _add_model(classify)
    classify.add_argument("--trust", action="store_true",
                          help="load the model even if its sha256 does not match its card (only for a file you vouch for)")
    run = commands.add_parser("run", help="segment, extract, train (if needed) and classify")
    _add_common(run)
    _add_model(run)
    _add_training(run, prefix="train-")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pipeline import stages
    from pipeline.files import InputError
    from pipeline.nlp import RulesError
    from pipeline.stance import ModelTrustError

    settings = replace(DEFAULT_SETTINGS, spacy_model=args.spacy_model)
    skipped = []
    try:
        if args.command in ("segment", "run"):
            skipped += stages.run_segment(args.input, args.out, settings, args.force).errors
        if args.command in ("extract", "run"):
            stages.run_extract(args.input, args.out, settings, args.force)
        if args.command == "train":
            stages.run_train(args.input, args.labels, args.models, args.out, settings, args.force)
        if args.command == "run":
            stages.run_train(args.train_input, args.labels, args.models, args.out, settings, args.force)
        if args.command in ("classify", "run"):
            stages.run_classify(args.out, args.models, settings, args.force, getattr(args, "trust", False))
    except (InputError, RulesError, ModelTrustError, OSError) as err:
        print(f"claims {args.command}: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as err:  # a bug, not bad input: say so, and keep exit code 1 for skipped input
        import traceback

        traceback.print_exc()
        print(f"claims {args.command}: internal error ({type(err).__name__}: {err}); please report it",
              file=sys.stderr)
        return EXIT_ERROR
    if skipped:
        print(f"claims {args.command}: {len(skipped)} input file(s) skipped; see errors.csv in {args.out}",
              file=sys.stderr)
        return EXIT_SKIPPED_INPUT
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
