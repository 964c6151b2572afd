"""Offline face generator: MobileStyleGAN (a distilled StyleGAN2 trained on FFHQ) run with OpenVINO on the CPU.

The networks are the OpenVINO IR files shipped inside the PyPI wheel ``random-face`` (2021.7.21.1,
``random_face/data/{MappingNetwork,SynthesisNetwork}.{xml,bin}``). That package's own Python code cannot be
imported (it needs ``gdown`` and the removed ``openvino.inference_engine`` API), so it is installed with
``--no-deps``, located with :func:`importlib.util.find_spec` *without importing it*, and only its data files
are read here with the current ``openvino`` API.

Networks (inspected, batch 1 in the files; the mapping network is reshaped here to any batch):

* mapping ``var`` (N, 512) float32 z ~ N(0, I) -> ``style`` (N, 512) float32: a single w per image (not w+);
* synthesis ``style`` (N, 512) -> ``img`` (N, 3, 1024, 1024) float32 RGB, nominally [-1, 1] (slightly beyond).
  The synthesis has no noise inputs: the same w always gives the same image. Inside it, that one w feeds
  23 per-layer affine ``MatMul``s (the modulated convolutions, coarse to fine: 2 at 4x4, then 3 per block for
  8 ... 512 px, the last inverse-DWT step gives 1024 px). :class:`FaceGenerator` can rewire those to a
  (N, 23, 512) **w+** input, which makes StyleGAN style mixing possible (:meth:`FaceGenerator.mix`) and
  gives bit-identical images when all 23 rows are equal.

Speed measured on a 2-core CPU: about 0.45-0.55 s per 1024 px face with one thread; batching does not help on
CPU (a batch of 4 takes 4x as long), so images are synthesised one at a time.

LICENSE: the weights derive from NVIDIA's StyleGAN2 (FFHQ) and fall under the NVIDIA Source Code License-NC:
non-commercial use (research / evaluation) only. The ``random-face`` code itself is Apache-2.0. Images
generated here must not be used to build anything commercial; FFHQ's own terms apply to the source faces.
Install (optional extra, not a core dependency)::

    pip install "openvino>=2024,<2027"
    pip install --no-deps random-face==2021.7.21.1
"""
from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from stngan.errors import UserError

STYLE_DIM = 512
NATIVE_SIZE = 1024
W_AVG_SEED = 20210721  # fixed, so the truncation centre (and therefore every image) is reproducible
INSTALL_HINT = 'pip install "openvino>=2024,<2027" && pip install --no-deps random-face==2021.7.21.1'

SeedLike = int | Sequence[int] | np.random.Generator


class GeneratorUnavailableError(UserError, FileNotFoundError):
    """openvino or the random-face model files are missing; the one-line message gives the pip commands.

    A FileNotFoundError (like a missing weight file), so command-line front ends show it as one line.
    """


@dataclass(frozen=True)
class ModelFiles:
    """Paths of the four OpenVINO IR files of MobileStyleGAN."""

    mapping_xml: Path
    mapping_bin: Path
    synthesis_xml: Path
    synthesis_bin: Path

    @classmethod
    def in_dir(cls, directory: str | os.PathLike) -> ModelFiles:
        """The files inside ``directory`` (random-face's ``data`` folder layout); raises if any is missing."""
        d = Path(directory)
        files = cls(d / "MappingNetwork.xml", d / "MappingNetwork.bin",
                    d / "SynthesisNetwork.xml", d / "SynthesisNetwork.bin")
        missing = [p.name for p in (files.mapping_xml, files.mapping_bin, files.synthesis_xml, files.synthesis_bin)
                   if not p.is_file()]
        if missing:
            raise GeneratorUnavailableError(
                f"MobileStyleGAN files {', '.join(missing)} not found in {d}; reinstall with: {INSTALL_HINT}")
        return files


def find_model_files(model_dir: str | os.PathLike | None = None) -> ModelFiles:
    """Locate the IR files: ``model_dir`` if given, else the installed ``random_face`` package's ``data``.

    The package is found with :func:`importlib.util.find_spec` and never imported (its import is broken).
    """
    if model_dir is not None:
        return ModelFiles.in_dir(model_dir)
    spec = importlib.util.find_spec("random_face")
    if spec is None or not spec.submodule_search_locations:
        raise GeneratorUnavailableError(f"the face generator needs the random-face model files; run: {INSTALL_HINT}")
    return ModelFiles.in_dir(Path(list(spec.submodule_search_locations)[0]) / "data")


def _import_openvino() -> Any:
    try:
        import openvino
    except ImportError as e:
        raise GeneratorUnavailableError(f"the face generator needs openvino ({e}); run: {INSTALL_HINT}") from None
    return openvino


def as_rng(seed: SeedLike) -> np.random.Generator:
    """A numpy Generator from an int, a sequence of ints (hashed by SeedSequence) or a Generator (as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, float)) or seed is None:
        raise ValueError(f"seed must be an int, a sequence of ints or a numpy Generator, got {seed!r}")
    return np.random.default_rng(seed)


def to_uint8(img: np.ndarray, size: int | None = None) -> np.ndarray:
    """One synthesis output (3, H, W) float in [-1, 1] -> (S, S, 3) uint8 RGB, area-downscaled to ``size``."""
    hwc = np.ascontiguousarray(img.transpose(1, 2, 0), dtype=np.float32)
    if size is not None and size != hwc.shape[0]:
        hwc = cv2.resize(hwc, (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(np.rint((hwc + 1.0) * 127.5), 0, 255).astype(np.uint8)


def check_size(size: int | None) -> int | None:
    """Validate an output size: None (native 1024) or an int in 1..1024 (downscaling only)."""
    if size is None:
        return None
    if int(size) != size or not 1 <= size <= NATIVE_SIZE:
        raise ValueError(f"size must be an integer in 1..{NATIVE_SIZE} (area downscaling only), got {size!r}")
    return int(size)


def _wplus_synthesis(ov: Any, model: Any) -> tuple[Any, int]:
    """Rewire the synthesis network's single ``style`` input to a (N, L, 512) w+ input ``style_plus``.

    Every affine MatMul that reads ``style`` gets its own row, ordered coarse to fine by the position (in
    topological order) of the first convolution it modulates; other readers (a ShapeOf for the batch size)
    get row 0. Returns (new model, L).
    """
    from openvino import opset13 as ops  # openvino is an optional extra, imported only when a model loads

    (param,) = model.get_parameters()
    order = {op.get_friendly_name(): i for i, op in enumerate(model.get_ordered_ops())}

    def first_conv(node: Any) -> int:
        best, stack, seen = len(order), [node], set()
        while stack:
            for out in stack.pop().outputs():
                for target in out.get_target_inputs():
                    nxt = target.get_node()
                    name = nxt.get_friendly_name()
                    if name in seen:
                        continue
                    seen.add(name)
                    if "Convolution" in nxt.get_type_name():
                        best = min(best, order[name])
                    else:
                        stack.append(nxt)
        return best

    readers = list(param.output(0).get_target_inputs())
    affines = [r for r in readers if r.get_node().get_type_name() == "MatMul"]
    if not affines:
        raise RuntimeError("unexpected SynthesisNetwork graph: no MatMul reads the style input")
    affines.sort(key=lambda r: first_conv(r.get_node()))
    n_layers = len(affines)
    batch = param.get_partial_shape()[0]
    wplus = ops.parameter(ov.PartialShape([batch, n_layers, STYLE_DIM]), ov.Type.f32, name="style_plus")
    wplus.output(0).get_tensor().set_names({"style_plus"})
    axis = ops.constant(np.int64(1))
    rows = [ops.gather(wplus, ops.constant(np.int64(k)), axis) for k in range(n_layers)]
    for k, reader in enumerate(affines):
        reader.replace_source_output(rows[k].output(0))
    for reader in readers:
        if reader.get_node().get_type_name() != "MatMul":
            reader.replace_source_output(rows[0].output(0))
    return ov.Model(model.get_results(), [wplus], "SynthesisNetworkWPlus"), n_layers


class FaceGenerator:
    """MobileStyleGAN face generator; networks are compiled lazily on first use and cached on the instance.

    ``threads``: OpenVINO CPU inference threads (None = OpenVINO's default, all cores; use 1 for background
    jobs on shared machines). ``model_dir``: folder with the four IR files (default: the installed
    random-face package). ``w_avg_samples``: how many mapped z estimate the truncation centre
    :attr:`w_avg` (computed once per instance from a fixed seed, so results are reproducible).

    Images are (N, S, S, 3) uint8 RGB; S = 1024 or the ``size`` asked for (area downscaling). A generator is
    not thread-safe; use one per thread/process.
    """

    def __init__(self, threads: int | None = None, model_dir: str | os.PathLike | None = None,
                 w_avg_samples: int = 1000) -> None:
        if threads is not None and (int(threads) != threads or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        if w_avg_samples < 1:
            raise ValueError(f"w_avg_samples must be >= 1, got {w_avg_samples!r}")
        self.threads = None if threads is None else int(threads)
        self.model_dir = model_dir
        self.w_avg_samples = int(w_avg_samples)
        self._ov: Any = None
        self._core: Any = None
        self._files: ModelFiles | None = None
        self._mapping: Any = None
        self._synthesis: Any = None
        self._synthesis_plus: Any = None
        self._num_layers: int | None = None
        self._w_avg: np.ndarray | None = None

    # -- loading ----------------------------------------------------------------------------------------
    def _load_core(self) -> Any:
        if self._core is None:
            files = find_model_files(self.model_dir)  # check files first: one message covers both installs
            self._ov = _import_openvino()
            self._files = files
            self._core = self._ov.Core()
        return self._core

    def _compile(self, model: Any) -> Any:
        config = {} if self.threads is None else {"INFERENCE_NUM_THREADS": self.threads}
        return self._core.compile_model(model, "CPU", config)

    def _mapping_net(self) -> Any:
        if self._mapping is None:
            core = self._load_core()
            model = core.read_model(self._files.mapping_xml, self._files.mapping_bin)
            model.reshape({model.inputs[0]: self._ov.PartialShape([-1, STYLE_DIM])})
            self._mapping = self._compile(model)
        return self._mapping

    def _synthesis_net(self) -> Any:
        if self._synthesis is None:
            core = self._load_core()
            self._synthesis = self._compile(core.read_model(self._files.synthesis_xml, self._files.synthesis_bin))
        return self._synthesis

    def _synthesis_plus_net(self) -> Any:
        if self._synthesis_plus is None:
            core = self._load_core()
            model, n_layers = _wplus_synthesis(
                self._ov, core.read_model(self._files.synthesis_xml, self._files.synthesis_bin))
            self._synthesis_plus, self._num_layers = self._compile(model), n_layers
        return self._synthesis_plus

    @property
    def num_layers(self) -> int:
        """Number L of per-layer styles in w+ (23 for this network)."""
        if self._num_layers is None:
            self._synthesis_plus_net()
        return self._num_layers

    # -- latent space -----------------------------------------------------------------------------------
    def mapping(self, z: np.ndarray) -> np.ndarray:
        """(N, 512) z -> (N, 512) float32 w (one w per image, shared by all synthesis layers)."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != STYLE_DIM:
            raise ValueError(f"z must have shape (N, {STYLE_DIM}), got {z.shape}")
        if z.shape[0] == 0:
            return np.zeros((0, STYLE_DIM), np.float32)
        return np.array(self._mapping_net()(np.ascontiguousarray(z))[0], dtype=np.float32)

    @property
    def w_avg(self) -> np.ndarray:
        """(512,) float32 mean of ``w_avg_samples`` mapped z (fixed seed), the truncation centre; cached."""
        if self._w_avg is None:
            z = np.random.default_rng(W_AVG_SEED).standard_normal((self.w_avg_samples, STYLE_DIM), dtype=np.float32)
            self._w_avg = self.mapping(z).mean(axis=0).astype(np.float32)
        return self._w_avg

    def truncate(self, w: np.ndarray, truncation: float = 0.7) -> np.ndarray:
        """Truncation trick: w_avg + psi * (w - w_avg); works for w (N, 512) and w+ (N, L, 512)."""
        w = np.asarray(w, dtype=np.float32)
        return (self.w_avg + np.float32(truncation) * (w - self.w_avg)).astype(np.float32)

    def sample_w(self, seed: SeedLike, n: int = 1, truncation: float = 0.7) -> np.ndarray:
        """(n, 512) truncated w from n standard-normal z drawn from ``seed`` (int, ints or Generator)."""
        z = as_rng(seed).standard_normal((n, STYLE_DIM), dtype=np.float32)
        return self.truncate(self.mapping(z), truncation)

    def to_wplus(self, w: np.ndarray) -> np.ndarray:
        """(N, 512) w -> (N, L, 512) w+ with all L rows equal (gives the identical image)."""
        w = np.asarray(w, dtype=np.float32)
        return np.repeat(w[:, None, :], self.num_layers, axis=1)

    def mix(self, w_coarse: np.ndarray, w_fine: np.ndarray, cutoff: int) -> np.ndarray:
        """Style mixing: layers [0, cutoff) from ``w_coarse``, [cutoff, L) from ``w_fine``; each (N, 512) or w+.

        Rough guide for this network: rows 0-4 (4-8 px) pose, face shape, hair style; 5-10 (16-32 px) facial
        features and expression; 11-22 (64 px and up) colours, skin and hair texture, lighting details.
        Returns (N, L, 512).
        """
        a = np.asarray(w_coarse, np.float32)
        b = np.asarray(w_fine, np.float32)
        a = self.to_wplus(a) if a.ndim == 2 else a
        b = self.to_wplus(b) if b.ndim == 2 else b
        if a.shape != b.shape:
            raise ValueError(f"mix needs equal batch shapes, got {a.shape} and {b.shape}")
        if not 0 <= cutoff <= self.num_layers:
            raise ValueError(f"cutoff must be in 0..{self.num_layers}, got {cutoff}")
        out = b.copy()
        out[:, :cutoff] = a[:, :cutoff]
        return out

    # -- images -----------------------------------------------------------------------------------------
    def synthesize_raw(self, w: np.ndarray) -> np.ndarray:
        """w (N, 512) or w+ (N, L, 512) -> (N, 3, 1024, 1024) float32 RGB in about [-1, 1]."""
        w = np.asarray(w, dtype=np.float32)
        if w.ndim == 2 and w.shape[1] == STYLE_DIM:
            net = self._synthesis_net()
        elif w.ndim == 3 and w.shape[1:] == (self.num_layers, STYLE_DIM):
            net = self._synthesis_plus_net()
        else:
            raise ValueError(f"w must have shape (N, {STYLE_DIM}) or w+ (N, L, {STYLE_DIM}) with L = the "
                             f"number of layers, got {w.shape}")
        out = np.empty((w.shape[0], 3, NATIVE_SIZE, NATIVE_SIZE), np.float32)
        for i in range(w.shape[0]):  # one at a time: batching is slower than a loop on CPU
            out[i] = net(np.ascontiguousarray(w[i:i + 1]))[0][0]
        return out

    def synthesize(self, w: np.ndarray, size: int | None = None) -> np.ndarray:
        """w (N, 512) or w+ (N, L, 512) -> (N, S, S, 3) uint8 RGB; S = ``size`` (area-downscaled) or 1024."""
        size = check_size(size)
        w = np.asarray(w, dtype=np.float32)
        if w.ndim not in (2, 3):
            raise ValueError(f"w must have shape (N, 512) or (N, L, 512), got {w.shape}")
        s = NATIVE_SIZE if size is None else size
        out = np.empty((w.shape[0], s, s, 3), np.uint8)
        for i in range(w.shape[0]):
            out[i] = to_uint8(self.synthesize_raw(w[i:i + 1])[0], size)
        return out

    def sample(self, seed: SeedLike, n: int = 1, truncation: float = 0.7, size: int | None = None) -> np.ndarray:
        """n random faces, (n, S, S, 3) uint8 RGB; deterministic for an int / int-sequence seed."""
        return self.synthesize(self.sample_w(seed, n, truncation), size)

