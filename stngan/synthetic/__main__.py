"""``python -m stngan.synthetic``: the ``synthetic`` command without the main CLI (see command.py)."""
import sys

from stngan.synthetic.stylegan import GeneratorUnavailableError


def main() -> None:
    from stngan.synthetic.command import synthetic

    try:
        synthetic.main(standalone_mode=False)
    except GeneratorUnavailableError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
