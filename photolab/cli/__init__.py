"""photolab-cli: batch commands over the same core the window uses.

    photolab-cli info PATH                                         (photolab.cli.develop)
    photolab-cli develop PATH... [-o FILE_OR_DIR] [--recipe SIDECAR] ...
    photolab-cli classify | attention ...                          (photolab.cli.classify)
    photolab-cli models ...                                        (photolab.cli.models)
    photolab-cli train ...                                         (photolab.cli.train)
    photolab-cli hdr | burst ...                                   (photolab.cli.merge)
    photolab-cli denoise IN... -o OUT_OR_DIR [--sigma S | --auto]  (photolab.cli.denoise)
    photolab-cli denoise-adapt FOLDER --name NAME ...              (photolab.cli.denoise_adapt)
    photolab-cli ops [--json]                                      (photolab.cli.ops)
    photolab-cli presets list|show|save|delete|apply ...           (photolab.cli.presets)
    photolab-cli rate PATH... [--stars N] [--reject|--unreject]    (photolab.cli.rate)

Every sub-command runs inside one error boundary (:func:`main`): whatever goes wrong ends as one line on
stderr (``photolab-cli: error: ...``) and an exit status, never a traceback. What libraries print (OpenCV,
libpng, LibRaw, Python warnings, tracebacks of unexpected errors) goes to a log file, or to the terminal
with ``--verbose``. Exit status: 0 when everything succeeded, 1 when anything failed, 2 on usage errors,
130 when interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys

from photolab import __version__
from photolab.cli.classify import add_classify_commands
from photolab.cli.common import fail, library_output_to_log, unexpected_error
from photolab.cli.denoise import add_denoise_commands
from photolab.cli.denoise_adapt import add_denoise_adapt_commands
from photolab.cli.develop import add_develop_commands
from photolab.cli.look import add_look_commands
from photolab.cli.merge import add_merge_commands
from photolab.cli.models import add_model_commands
from photolab.cli.ops import add_ops_commands
from photolab.cli.presets import add_presets_commands
from photolab.cli.rate import add_rate_commands
from photolab.cli.train import add_train_commands
from photolab.core.errors import PhotoLabError
from photolab.services import install_models


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``photolab-cli``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    install_models()  # the denoise step loads its denoiser through a ModelManager (on --device where given)
    with library_output_to_log(verbose=args.verbose, argv=sys.argv[1:] if argv is None else argv) as log:
        try:
            return args.command(args, parser)
        except KeyboardInterrupt:
            print("photolab-cli: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # the reader of stdout went away (| head): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
        except PhotoLabError as exc:
            return fail(exc)
        except Exception as exc:  # noqa: BLE001 - the error boundary: one line for the user, the rest to the log
            return fail(unexpected_error(exc, args.command_name, log))


def build_parser() -> argparse.ArgumentParser:
    """photolab-cli's parser with every sub-command (each sets ``command`` and ``command_name``)."""
    parser = argparse.ArgumentParser(prog="photolab-cli", description="PhotoLab batch commands.")
    parser.add_argument("--version", action="version", version=f"PhotoLab {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show what libraries print, and the details of unexpected errors, on stderr")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for add_commands in (add_develop_commands, add_classify_commands, add_model_commands, add_train_commands, add_merge_commands,
                         add_denoise_commands, add_denoise_adapt_commands, add_ops_commands, add_presets_commands,
                         add_rate_commands, add_look_commands):
        add_commands(commands)
    for name, subparser in commands.choices.items():
        subparser.set_defaults(command_name=name)
        _accept_verbose(subparser)
    return parser


def _accept_verbose(parser: argparse.ArgumentParser) -> None:
    """Let ``--verbose`` also follow the sub-command (``photolab-cli info X --verbose``), at every level."""
    parser.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        for child in action.choices.values():
            _accept_verbose(child)
