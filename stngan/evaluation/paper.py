"""The paper's reported numbers (Tables 1 and 2a), printed beside ours for reference."""
from __future__ import annotations

TABLE1_COLUMNS = ("psnr", "ms_ssim", "tv", "fid")
# dataset -> method -> (PSNR, MS-SSIM, TV, FID)
TABLE1: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "CelebA": {
        "PartialConv": (27.38, 0.979, 12.82, 41.23),
        "SI-lm w/o BGCP": (27.30, 0.979, 12.66, 37.10),
        "SI": (27.06, 0.976, 12.78, 38.52),
        "SI-lm": (28.61, 0.982, 12.75, 36.21),
    },
    "300-VW": {
        "PartialConv": (27.26, 0.970, 9.40, 13.92),
        "SI-lm w/o BGCP": (26.29, 0.971, 9.48, 13.66),
        "SI": (27.17, 0.970, 9.34, 12.86),
        "SI-lm": (28.67, 0.976, 9.29, 11.13),
    },
}
TABLE2A_METHODS = ("SI", "SI-lm", "STN", "STN-lm", "Vid2Vid")
# dataset -> method -> FID on cropped faces
TABLE2A: dict[str, dict[str, float]] = {
    "300-VW": {"SI": 8.89, "SI-lm": 6.95, "STN": 7.14, "STN-lm": 6.02, "Vid2Vid": 39.61},
    "Face Forensics": {"SI": 8.08, "SI-lm": 6.34, "STN": 6.82, "STN-lm": 5.28, "Vid2Vid": 35.17},
}
_KINDS = {"celeba": "CelebA", "300vw": "300-VW", "faceforensics": "Face Forensics"}


def paper_dataset(kind: str, name: str) -> str | None:
    """The paper's dataset an evaluation set corresponds to (by store kind, else by name), or None."""
    if kind in _KINDS:
        return _KINDS[kind]
    squashed = name.lower().replace("-", "").replace("_", "").replace(" ", "")
    return next((v for k, v in _KINDS.items() if k in squashed), None)


def paper_method(label: str) -> str:
    """Our label -> the paper's row name ("vid2vid" in any case -> "Vid2Vid")."""
    return "Vid2Vid" if "vid2vid" in label.lower() else label
