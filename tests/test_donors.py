"""The donor fill: bank, warp, choice, harmonisation, and what it guarantees on a real face."""
import json

import numpy as np
import pytest
from skimage import data as skdata

from stngan.donors.attributes import FaceAttributes, measure, skin_ring
from stngan.donors.bank import DonorBank, DonorBankError, shipped_bank_dir, write_bank
from stngan.donors.choose import TEETH_MIN, choose_identity, identity_costs, variant_weights
from stngan.donors.harmonise import match_colour
from stngan.donors.smoothing import OneEuro
from stngan.donors.warp import TargetMesh, mirror, support_points, warp_face, warp_maps
from stngan.faces.masks import rasterize
from stngan.faces.template import mean_shape
from stngan.inference.frames import Anonymizer, FrameInpainter, mask_frame
from stngan.inference.sidecar import Sidecar
from stngan.faces.landmarks import landmark_attributes


@pytest.fixture(scope="module")
def bank():
    return DonorBank(shipped_bank_dir())


@pytest.fixture(scope="module")
def astronaut():
    img = skdata.astronaut()
    masked, record = Anonymizer().process(img, 0)
    return img, masked, Sidecar({"name": "astronaut", "kind": "image"}, {}, [record])


def target(ita=40.0, glasses=1.0, yaw=0.0, eyes=0.12, mouth=0.0):
    return FaceAttributes(yaw, 0.0, 0.0, mouth, 0.9, eyes, ita, glasses)


# ---------------------------------------------------------------- warp

def test_the_warp_puts_the_donor_points_on_the_target_points():
    rng = np.random.default_rng(0)
    donor = mean_shape() * 120 + 40
    tgt = donor * 1.15 + rng.normal(0, 1.5, donor.shape) + [6, -3]
    map_x, map_y, valid = warp_maps(support_points(donor), support_points(tgt), 240, 240)
    p = np.round(tgt).astype(int)
    err = np.hypot(map_x[p[:, 1], p[:, 0]] - donor[:, 0], map_y[p[:, 1], p[:, 0]] - donor[:, 1])
    assert err.max() < 1.0  # a pixel centre is ≤ 0.71 px from the point, 1.15x smaller than the donor
    assert valid[p[:, 1], p[:, 0]].all()


def test_a_warped_image_of_coordinates_reads_back_the_donor_positions():
    donor = mean_shape() * 100 + 30
    tgt = donor + [10.0, 5.0]  # a pure shift: every pixel must map exactly 10, 5 back
    ys, xs = np.mgrid[0:180, 0:180].astype(np.float32)
    mesh = TargetMesh(support_points(tgt), 180, 180)
    warped, valid = warp_face(np.dstack([xs, ys]), donor, mesh), mesh.valid
    assert valid.sum() > 5000
    assert np.abs(warped[valid][:, 0] - (xs[valid] - 10)).max() < 1e-3
    assert np.abs(warped[valid][:, 1] - (ys[valid] - 5)).max() < 1e-3


def test_mirror_keeps_the_iBUG_meaning_of_each_point():
    img = np.zeros((50, 80, 3), np.uint8)
    lm = mean_shape() * 40 + 5
    _, flipped = mirror(img, lm)
    assert flipped[36, 0] > flipped[45, 0] - 80  # still defined
    assert np.allclose(flipped[8, 0], 79 - lm[8, 0])  # the chin stays the chin
    assert np.allclose(flipped[36], [79 - lm[45, 0], lm[45, 1]])  # right-eye corner = mirrored left one


# ---------------------------------------------------------------- bank and choice

def test_the_shipped_bank_is_synthetic_small_and_complete(bank):
    assert "non-commercial" in bank.meta["licence"] and "MobileStyleGAN" in bank.meta["licence"]
    assert len(bank.identities) >= 12 and len(bank) == len(bank.identities) * len(bank.variants)
    size = sum(f.stat().st_size for f in bank.path.iterdir())
    assert size < 4 * 2**20
    img = bank.image(0)
    assert img.shape == (bank.meta["size"], bank.meta["size"], 3) and img.dtype == np.uint8


def test_a_broken_bank_is_one_clear_error(tmp_path):
    with pytest.raises(DonorBankError, match="no donor bank"):
        DonorBank(tmp_path)
    write_bank(tmp_path / "b", [np.zeros((8, 8, 3), np.uint8)], [np.zeros((68, 2))], [0], [0], np.zeros((1, 1)),
               {"variants": [{"name": "neutral", "mouth": 0, "eyes": 0}], "attribute_names": ["ita"],
                "identities": []})
    assert DonorBank(tmp_path / "b").image(0).shape == (8, 8, 3)
    meta = json.loads((tmp_path / "b" / "bank.json").read_text())
    (tmp_path / "b" / "bank.json").write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(DonorBankError, match="version 99"):
        DonorBank(tmp_path / "b")


def test_choice_is_deterministic_and_a_new_track_gets_another_donor(bank):
    t = target()
    a = choose_identity(bank, t, seed=3, track=0)
    assert a == choose_identity(bank, t, seed=3, track=0)
    assert choose_identity(bank, t, seed=3, track=1).identity != a.identity  # a cut starts track 1
    assert choose_identity(bank, t, seed=4, track=0).identity != a.identity  # --seed changes it
    assert choose_identity(bank, t, pinned=5).identity == 5
    with pytest.raises(DonorBankError, match="no donor 999"):
        choose_identity(bank, t, pinned=999)


def test_choice_follows_the_skin_tone_and_glasses(bank):
    itas = {i: bank.attribute(bank.variants_of(i)[0], "ita") for i in bank.identities}
    dark = choose_identity(bank, target(ita=min(itas.values()) - 5)).identity
    light = choose_identity(bank, target(ita=max(itas.values()) + 5)).identity
    assert itas[dark] < np.median(list(itas.values())) < itas[light]
    glasses = {i for i in bank.identities if bank.attribute(bank.variants_of(i)[0], "glasses") > 3.0}
    assert glasses, "the shipped bank keeps some donors with glasses"
    tone = itas[min(glasses)]  # at a glasses donor's tone, the frames decide
    assert choose_identity(bank, target(ita=tone, glasses=9.0)).identity in glasses
    assert choose_identity(bank, target(ita=tone, glasses=1.0)).identity not in glasses
    costs = identity_costs(bank, target(yaw=0.3))
    assert all(m == (np.sign(bank.attribute(bank.variants_of(i)[0], "yaw")) < 0) for _, i, m in costs)


def test_variants_follow_open_and_closed_eyes_and_mouth(bank):
    ident = bank.identities[0]
    names = lambda ws: {bank.variants[int(bank.variant[r])]["name"]: w for r, w in ws}  # noqa: E731
    closed = names(variant_weights(bank, ident, 0.0, 0.0))
    assert sum(w for n, w in closed.items() if "eyes_closed" in n) == pytest.approx(1.0)
    open_ = names(variant_weights(bank, ident, 0.0, 0.2))
    assert sum(w for n, w in open_.items() if "eyes_closed" in n) == 0
    wide = names(variant_weights(bank, ident, 0.6, 0.2))
    toothy = [bank.variants[int(bank.variant[r])]["name"] for r in bank.variants_of(ident)[1:4]
              if bank.attribute(r, "teeth") >= TEETH_MIN]
    assert toothy and wide == {toothy[-1]: 1.0}  # the most open level that shows teeth
    assert set(names(variant_weights(bank, ident, -0.1, 0.2))) == {"mouth_closed"}


def test_the_one_euro_filter_follows_a_blink_within_a_frame_and_steadies_jitter():
    rng = np.random.default_rng(0)
    f = OneEuro()
    still = [f(np.array([[0.0, 0.0]]) + rng.normal(0, 0.02, (1, 2)), 1.0) for _ in range(40)]
    assert np.std(np.array(still)[10:, 0, 0]) < 0.75 * 0.02  # jitter of a still point damped (measured 0.70x)
    g = OneEuro()
    for _ in range(10):
        g(np.array([[0.0, 0.0]]), 1.0)
    after = g(np.array([[0.0, 0.1]]), 1.0)  # an eyelid moves 0.1 inter-ocular distances in one frame
    assert after[0, 1] > 0.05  # more than half of the move shows in that same frame


# ---------------------------------------------------------------- harmonisation

def test_colour_matching_moves_the_skin_but_keeps_eye_whites_bright():
    donor = np.full((40, 40, 3), 200, np.uint8)
    donor[18:22, 18:22] = 250  # an eye white
    tgt = np.full((40, 40, 3), 90, np.uint8)
    ring = np.zeros((40, 40), bool)
    ring[:8] = True
    parts = np.zeros((40, 40), np.float32)
    parts[18:22, 18:22] = 1
    out = match_colour(donor, tgt, ring, parts)
    assert np.abs(out[2, 2] - 90).max() < 2  # skin goes to the target's
    assert out[20, 20].mean() > 180  # the white stays bright (a plain shift would give ~140)


# ---------------------------------------------------------------- on a real face

def test_donor_fill_is_bit_exact_outside_the_mask_and_blind_inside(astronaut):
    from stngan.inference.fills import open_inpainter

    img, masked, sidecar = astronaut
    mask = np.zeros(img.shape[:2], bool)
    for face in sidecar.frames[0].faces:
        mask |= rasterize(face.mask, *img.shape[:2]).astype(bool)
    inp = open_inpainter()
    out = FrameInpainter(inp, sidecar).process(masked, 0)
    assert np.array_equal(out[~mask], masked[~mask])
    assert np.abs(out[mask].astype(int) - masked[mask]).mean() > 20  # the black discs are filled
    # another picture under the mask, same masked input -> the same output: the original never leaks in
    other = img.copy()
    other[mask] = 255 - other[mask]
    masked2 = mask_frame(other, sidecar.frames[0].faces, (0, 0, 0))
    assert np.array_equal(masked2, masked)
    assert np.array_equal(FrameInpainter(open_inpainter(), sidecar).process(masked2, 0), out)


def test_an_open_mouth_in_the_landmarks_shows_teeth_in_the_fill(bank, astronaut):
    from stngan.inference.crops import prepare_crop
    from stngan.inference.donor_fill import DonorInpainter

    _, masked, sidecar = astronaut
    face = sidecar.frames[0].faces[0]
    inp = DonorInpainter(bank, pinned=bank.identities[2], video=False)
    fi = FrameInpainter(inp, sidecar)
    ct, lm = fi.tracks[(0, face.track)]
    lm = lm.copy()
    iod = np.linalg.norm(lm[42:48].mean(0) - lm[36:42].mean(0))
    lm[[56, 57, 58, 65, 66, 67], 1] += 0.35 * iod  # the jaw drops: lower lip down
    lm[5:12, 1] += 0.35 * iod
    assert landmark_attributes(lm)[2] > 0.3
    item = prepare_crop(masked, face.track, ct, face.mask, ct.to_crop(lm))
    y = inp.inpaint([item])[0]
    crop = ((y.permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
    inner = np.zeros(crop.shape[:2], np.uint8)
    import cv2

    cv2.fillPoly(inner, [np.round(ct.to_crop(lm)[60:68]).astype(np.int32)], 1)
    light = cv2.cvtColor(crop, cv2.COLOR_RGB2Lab)[..., 0][inner > 0]
    assert inner.sum() > 30 and (light > 150).mean() > 0.15  # teeth (L* > 59) fill part of the opening


def test_same_track_same_donor_through_a_video(astronaut):
    from stngan.inference.donor_fill import DonorInpainter
    from stngan.inference.sidecar import FrameRecord

    _, masked, sidecar = astronaut
    face = sidecar.frames[0].faces[0]
    frames = [FrameRecord(i, [face]) for i in range(4)]
    moved = [FrameRecord(i, [type(face)(7, face.box, face.landmarks, face.mask)]) for i in range(4, 6)]
    video = Sidecar({"name": "v", "kind": "video"}, {}, frames + moved)
    inp = DonorInpainter()
    worker = FrameInpainter(inp, video)
    for i in range(6):
        worker.process(masked, i)
    assert set(inp.choices) == {face.track, 7}
    assert inp.choices[face.track].identity != inp.choices[7].identity


def test_tone_measure_sees_the_visible_skin_only(astronaut):
    img, masked, sidecar = astronaut
    face = sidecar.frames[0].faces[0]
    visible = ~rasterize(face.mask, *img.shape[:2]).astype(bool)
    a, b = measure(img, face.landmarks, visible), measure(masked, face.landmarks, visible)
    assert a.ita == pytest.approx(b.ita) and np.isfinite(a.ita)
    assert skin_ring(img.shape[:2], face.landmarks, visible).sum() > 200


def test_open_eyes_show_the_open_variant_alone(bank):
    from stngan.donors.choose import STILL_OPEN_GAP, STILL_SHUT_GAP

    ident = bank.identities[0]
    shut_names = lambda w: ["eyes_closed" in bank.variants[int(bank.variant[r])]["name"] for r in w]  # noqa: E731
    assert not any(shut_names(dict(variant_weights(bank, ident, -1.0, 0.066))))  # a broad smile's narrow eyes
    half = dict(variant_weights(bank, ident, -1.0, (STILL_OPEN_GAP + STILL_SHUT_GAP) / 2))
    assert len(half) == 2 and all(0.3 < w < 0.7 for w in half.values())
    assert all(shut_names(dict(variant_weights(bank, ident, -1.0, 0.02))))


def test_the_coarse_blend_takes_a_colour_offset_out_like_the_full_one():
    import torch

    from stngan.inference.blend import coarse_poisson_blend, poisson_blend

    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 200), torch.linspace(-1, 1, 200), indexing="ij")
    real = (0.3 * xx + 0.2 * yy)[None, None].repeat(1, 3, 1, 1)  # smooth shading
    mask = ((xx ** 2 + yy ** 2) < 0.5).float()[None, None]
    fill = real + 0.4  # the right texture, the wrong brightness
    coarse = coarse_poisson_blend(fill, real * (1 - mask), mask, 64)
    full = poisson_blend(fill, real * (1 - mask), mask)
    inside = mask.bool().expand_as(real)
    assert (fill - real)[inside].abs().mean() > 0.39
    assert (full - real)[inside].abs().mean() < 0.01
    assert (coarse - real)[inside].abs().mean() < 0.01  # the edge band is solved at full resolution
    assert torch.equal(coarse[~inside], real[~inside])


def test_the_coarse_blend_leaves_a_fill_that_already_matches_alone():
    import torch

    from stngan.inference.blend import coarse_poisson_blend

    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 200), torch.linspace(-1, 1, 200), indexing="ij")
    real = torch.where((yy + 0.2).abs() < 0.08, -0.8, 0.3)[None, None].repeat(1, 3, 1, 1)  # a dark brow on skin
    mask = ((xx ** 2 + (yy - 0.1) ** 2) < 0.25).float()[None, None]  # its edge crosses the brow
    out = coarse_poisson_blend(real.clone(), real * (1 - mask), mask, 64)
    assert (out - real).abs().max() < 1e-3


def test_copies_pixels_only_on_the_frame_grid():
    from stngan.faces.crop import CropTransform

    assert CropTransform(222.0, 124.0, 137, 137).copies_pixels
    assert not CropTransform(222.3, 124.0, 137, 137).copies_pixels  # off the grid
    assert not CropTransform(222.0, 124.0, 274, 137).copies_pixels  # resampled


def test_a_track_keeps_its_colour_move_steady_and_its_detail_level():
    from stngan.donors.harmonise import COLOUR_FOLLOW, TrackHarmony

    rng = np.random.default_rng(0)
    donor = np.clip(150 + rng.normal(0, 20, (40, 40, 3)), 0, 255).astype(np.float32)
    ring = np.zeros((40, 40), bool)
    ring[:10] = True
    noise = rng.standard_normal((40, 40)).astype(np.float32)
    harmony = TrackHarmony()
    dark, light = np.full((40, 40, 3), 80, np.uint8), np.full((40, 40, 3), 120, np.uint8)
    first = harmony(donor, dark, ring, None, None, noise)
    settings = harmony.detail
    second = harmony(donor, light, ring, None, None, noise)  # the skin jumps by 40 grey levels in one frame
    step = float(second[:10].mean() - first[:10].mean())
    assert 0 < step < 2 * COLOUR_FOLLOW * 40  # the fill follows a tenth of the jump, not all of it
    assert harmony.detail == settings  # the blur and grain chosen on the first face stay


def test_a_bare_chin_does_not_get_the_bearded_donor_and_a_beard_does(bank):
    from stngan.donors.attributes import chin_shadow

    shadow = {i: chin_shadow(bank.image(bank.variants_of(i)[0]), bank.landmarks[bank.variants_of(i)[0]])
              for i in bank.identities}
    bearded = max(shadow, key=lambda i: shadow[i])
    assert shadow[bearded] > 15  # the shipped bank's bearded donor
    t = target(ita=bank.attribute(bank.variants_of(bearded)[0], "ita"))
    picks = {choose_identity(bank, t, track=k, target_shadow=0.0).identity for k in range(8)}
    assert bearded not in picks
    assert choose_identity(bank, t, track=0, target_shadow=shadow[bearded]).cost < \
        choose_identity(bank, t, track=0, target_shadow=0.0, pinned=bearded).cost


def test_irises_turn_dark_brown_and_nothing_outside_the_eye_openings_changes(bank):
    import cv2

    from stngan.donors.irises import EYES, brown_irises, iris_discs

    row = bank.variants_of(bank.identities[0])[0]
    lm = bank.landmarks[row]
    img = np.full((256, 256, 3), (225, 185, 165), np.uint8)  # skin
    for eye in EYES:
        cv2.fillPoly(img, [np.round(lm[eye]).astype(np.int32)], (235, 235, 235))  # sclera
    centre = lm[36:42].mean(0) + [2.0, 0.0]  # a blue iris a little off the eye's middle
    cv2.circle(img, tuple(np.round(centre).astype(int)), 6, (90, 140, 200), -1)
    cv2.circle(img, tuple(np.round(lm[42:48].mean(0)).astype(int)), 6, (90, 140, 200), -1)
    found = iris_discs(img, lm)[0][0]
    assert np.linalg.norm(found - centre) < 2.5
    out = brown_irises(img, lm)
    lab = lambda a: cv2.cvtColor(a.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)  # noqa: E731
    y, x = np.round(centre).astype(int)[::-1]
    before, after = lab(img)[y, x], lab(out)[y, x]
    assert after[0] < before[0] - 20 and after[2] > 0 > before[2]  # darker, and yellow-brown instead of blue
    far = np.ones(img.shape[:2], bool)
    for eye in EYES:
        box = np.round(lm[eye]).astype(int)
        far[box[:, 1].min() - 6:box[:, 1].max() + 7, box[:, 0].min() - 6:box[:, 0].max() + 7] = False
    assert np.array_equal(out[far], img[far])


def test_the_fill_takes_the_detail_level_of_the_photo_softer_or_sharper():
    import cv2

    from stngan.donors.harmonise import detail, match_detail

    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.normal(128, 40, (64, 64)).astype(np.float32), (0, 0), 1.0)
    face = np.repeat(texture[..., None], 3, axis=2)
    ring = np.ones((64, 64), bool)
    soft, sharp = cv2.GaussianBlur(face, (0, 0), 1.5), face + 1.0 * (face - cv2.GaussianBlur(face, (0, 0), 1.0))
    for target in (soft, sharp):
        out = match_detail(face, target, ring)
        assert abs(detail(out, ring) - detail(target, ring)) < 0.25 * abs(detail(face, ring) - detail(target, ring))


def test_an_old_bank_gets_its_irises_recoloured_once(tmp_path, bank):
    from stngan.donors.irises import recolour_bank
    from stngan.errors import UserError

    old = tmp_path / "old"
    meta = {k: v for k, v in bank.meta.items() if k not in ("version", "licence", "irises")}
    write_bank(old, [bank.image(r) for r in range(2)], list(bank.landmarks[:2]), [0, 0], [0, 1],
               bank.attributes[:2], {**meta, "identities": meta["identities"][:1]})
    new = DonorBank(recolour_bank(old, tmp_path / "new"))
    assert "irises" in new.meta and np.array_equal(new.landmarks, bank.landmarks[:2])
    assert not np.array_equal(new.image(0), DonorBank(old).image(0))
    with pytest.raises(UserError, match="already"):
        recolour_bank(tmp_path / "new", tmp_path / "again")


def test_a_blink_in_the_landmarks_shuts_the_fills_eyes_in_the_same_frame(bank, astronaut):
    from stngan.faces.landmarks import LandmarkPredictor
    from stngan.inference.crops import paste, prepare_crop
    from stngan.inference.donor_fill import DonorInpainter

    _, masked, sidecar = astronaut
    face = sidecar.frames[0].faces[0]
    inp = DonorInpainter(bank, pinned=bank.identities[2], video=True)
    ct, lm = FrameInpainter(inp, sidecar).tracks[(0, face.track)]
    shut = lm.copy()
    for u, d in ((37, 41), (38, 40), (43, 47), (44, 46)):  # each upper lid point meets the one below it
        shut[[u, d]] = shut[[u, d]].mean(0)
    predictor, gaps = LandmarkPredictor(), []
    for points in [lm] * 6 + [shut]:
        item = prepare_crop(masked, face.track, ct, face.mask, ct.to_crop(points))
        out = paste(masked, item, inp.inpaint([item])[0], inp.frame_blend(item))
        gaps.append(float(landmark_attributes(predictor.predict(out, face.box).astype(np.float64))[4]))
    # dlib, reading the output, sees the fill's eyes open for six frames, then shut in the blink's own frame
    assert gaps[5] > 0.08 and gaps[6] < 0.6 * gaps[5], gaps
