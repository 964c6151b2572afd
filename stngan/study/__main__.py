"""``python -m stngan.study ...``: the study commands without the top-level ``stngan`` CLI."""
from stngan.study.cli import study

if __name__ == "__main__":
    study(prog_name="python -m stngan.study")
