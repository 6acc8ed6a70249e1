"""`aidsim-plot`: figures from a sweep results folder."""

from __future__ import annotations

from pathlib import Path

FORMATS = ("png", "svg")
"""Default formats (aidsim.report.figures.FORMATS; kept here so `--help` does not import matplotlib)."""


def main(argv: list[str] | None = None) -> None:
    """`aidsim-plot <folder>`: draw a sweep study's figures into <folder>/figures/."""
    import sys

    from aidsim.cli.guard import guarded, one_line_parser
    from aidsim.model.errors import ConfigError

    parser = one_line_parser("aidsim-plot", "Figures of an aidsim-sweep results folder.")
    parser.add_argument("folder", help="a study folder, e.g. results/sweeps/tension_x_severity")
    parser.add_argument("--format", nargs="+", default=list(FORMATS), choices=["png", "svg", "pdf"], help="file formats (default: png svg)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    def draw() -> None:
        if not Path(args.folder).is_dir():
            raise ConfigError(f"folder={args.folder!r}: no such folder; give an aidsim-sweep results folder")
        from aidsim.report.figures import study_figures
        from aidsim.report.labels import count

        files = study_figures(args.folder, tuple(args.format))
        print(f"figures: {Path(args.folder) / 'figures'} ({count(len(files), 'file')})")
        for f in files:
            print(f"  {f.name}")

    guarded(draw, "aidsim-plot")()
