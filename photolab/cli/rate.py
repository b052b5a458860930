"""photolab-cli rate: read or set photos' star ratings (0-5) and reject flag, kept in their sidecars
(``photolab.core.rating``), as the window's filmstrip does.

    photolab-cli rate PATH... [--stars N] [--reject | --unreject] [--min-stars N] [--rejected include|exclude|only]
                     [--json]

A PATH may be a folder: its photos, in name order. Without ``--stars``, ``--reject`` or ``--unreject`` the
ratings are only listed; ``--min-stars`` and ``--rejected`` then filter the list (as the filmstrip's filter
does), so ``photolab-cli rate FOLDER --min-stars 4`` lists the keepers. ``photolab-cli info PHOTO`` shows the
rating too. A photo that cannot be rated (missing, unreadable sidecar, read-only folder) is an error line and
exit status 1; the others are still rated.
"""

from __future__ import annotations

import argparse
import json
import sys

from photolab.cli.common import fail
from photolab.core.errors import PhotoLabError
from photolab.core.folder import expand_paths
from photolab.core.rating import MAX_STARS, REJECTED_FILTERS, matches, read_rating, set_rating


def add_rate_commands(subparsers) -> None:
    """Register ``rate`` on photolab-cli's sub-parsers."""
    rate = subparsers.add_parser("rate", help="read or set photos' star ratings and reject flag")
    rate.add_argument("paths", nargs="+", metavar="PATH", help="photos, or folders of photos")
    rate.add_argument("--stars", type=_stars, metavar="N", help=f"set the rating: 0 to {MAX_STARS} stars")
    flag = rate.add_mutually_exclusive_group()
    flag.add_argument("--reject", dest="rejected", action="store_const", const=True, help="mark as rejected")
    flag.add_argument("--unreject", dest="rejected", action="store_const", const=False,
                      help="clear the reject flag")
    rate.add_argument("--min-stars", type=_stars, metavar="N", default=0,
                      help="list only photos with at least N stars (when only listing)")
    rate.add_argument("--rejected", dest="rejected_filter", choices=REJECTED_FILTERS, default="include",
                      help="when only listing: include rejected photos (default), exclude them, or list only them")
    rate.add_argument("--json", action="store_true", help="print the ratings as JSON")
    rate.set_defaults(command=_rate)


def _stars(text: str) -> int:
    try:
        stars = int(text)
    except ValueError:
        stars = -1
    if not 0 <= stars <= MAX_STARS:
        raise argparse.ArgumentTypeError(f"a rating is 0 to {MAX_STARS} stars, not {text!r}")
    return stars


def _rate(args, parser) -> int:
    changing = args.stars is not None or args.rejected is not None
    if changing and (args.min_stars or args.rejected_filter != "include"):
        parser.error("--min-stars and --rejected filter a listing; they cannot be used with --stars, --reject or "
                     "--unreject")
    try:
        paths = expand_paths(args.paths)
    except PhotoLabError as exc:
        return fail(exc)
    results, failed = [], 0
    for path in paths:
        try:
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such photo")
            rating = set_rating(path, stars=args.stars, rejected=args.rejected) if changing else read_rating(path)
        except (PhotoLabError, OSError, ValueError) as exc:
            failed += 1
            fail(exc)
            continue
        if changing or matches(rating, min_stars=args.min_stars, rejected=args.rejected_filter):
            results.append({"path": str(path), "rating": rating.stars, "rejected": rating.rejected})
    if args.json:
        print(json.dumps({"photos": results, "failed": failed}, indent=2))
    else:
        for entry in results:
            mark = "  rejected" if entry["rejected"] else ""
            print(f"{entry['rating']} {_stars_text(entry['rating'])}{mark}  {entry['path']}")
    return 1 if failed else 0


def _stars_text(stars: int) -> str:
    """'★★★☆☆', or '***..' where the terminal cannot show stars."""
    text = "★" * stars + "☆" * (MAX_STARS - stars)
    try:
        text.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return "*" * stars + "." * (MAX_STARS - stars)
    return text
