"""Camera-like training frames for the lesion localiser, with the lesion's mask in frame coordinates.

A lesion photo (HAM10000 or a smartphone photo) and its mask are placed on skin at a random scale and
position, the way a phone or webcam shows a spot: the whole photo feathered into the frame, only the
lesion with a ring of its own skin blended onto other skin, or the photo filling the frame (an upload).
Wide-field frames paste the lesion small (0.5–10 % of the frame) anywhere, border included, into a
smartphone photo of another patient with its lesion painted out: a phone held at arm's length. Skin
comes from photos with their lesion painted out, or a skin-toned field with texture and lighting.
Negatives (no lesion, empty mask) are bare skin and everyday photos. Camera effects (light, white
balance, blur, noise, JPEG) come from ``augment.camera_effects``; they leave the geometry unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .augment import camera_effects

FRAME = (320, 240)  # composed at twice the localiser's input, then shrunk as the product shrinks a camera frame
WIDE_SHARE = (0.005, 0.10)  # a wide-field frame's lesion area, as a share of the frame (log-uniform)


@dataclass(frozen=True)
class LesionPhoto:
    image: np.ndarray  # RGB uint8
    mask: np.ndarray  # uint8, 255 = lesion, same height and width
    group: str = ""  # the patient or lesion it comes from
    label: str = ""  # its diagnosis, when known


def bare_skin(photo: LesionPhoto) -> np.ndarray:
    """The photo with its lesion painted out (what the skin around it would look like alone): the skin's colour
    diffused in from the lesion's edge, then the texture of the nearest patches of the photo's own skin that hold
    none of the lesion blended onto it (Poisson), so the skin keeps its grain; a lesion too large for one patch is
    covered in halves, and those in halves."""
    ring = cv2.dilate(photo.mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))) > 0
    pad = 4  # Poisson blending needs the region clear of the picture's edge
    diffused = cv2.inpaint(photo.image, ring.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
    image = cv2.copyMakeBorder(diffused, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    remaining = np.pad(ring, pad)
    pieces = [remaining.copy()]
    while pieces:
        piece = pieces.pop()
        shift = _donor_shift(piece, remaining)
        if shift is not None:
            src = np.roll(image, (-shift[0], -shift[1]), axis=(0, 1))  # the donor patch moved onto the piece
            x, y, w, h = cv2.boundingRect(piece.astype(np.uint8))
            cloned = cv2.seamlessClone(src, image, piece.astype(np.uint8) * 255, (x + w // 2, y + h // 2),
                                       cv2.NORMAL_CLONE)
            image = np.where(piece[..., None], cloned, image)
            remaining &= ~piece
        elif piece.sum() >= MIN_PIECE:
            pieces += _halves(piece)
    return image[pad:-pad, pad:-pad]


MIN_PIECE = 64  # pixels: a piece of lesion smaller than this keeps its diffused colour rather than being halved again


def _halves(piece: np.ndarray) -> list[np.ndarray]:
    """``piece`` cut in two across its box's longer side."""
    x, y, w, h = cv2.boundingRect(piece.astype(np.uint8))
    first = np.zeros_like(piece)
    if w >= h:
        first[:, :x + w // 2] = True
    else:
        first[:y + h // 2] = True
    return [p for p in (piece & first, piece & ~first) if p.any()]


def _donor_shift(piece: np.ndarray, forbidden: np.ndarray, step: int = 4) -> tuple[int, int] | None:
    """The shortest (dy, dx) that moves ``piece`` (bool) onto pixels inside the picture holding none of
    ``forbidden``, on a grid of ``step`` pixels; None when there is none."""
    h, w = piece.shape
    grid = (max(1, w // step), max(1, h // step))
    small = cv2.resize(piece.astype(np.uint8), grid, interpolation=cv2.INTER_AREA) > 0
    banned = cv2.resize(forbidden.astype(np.uint8), grid, interpolation=cv2.INTER_AREA) > 0
    sh, sw = small.shape
    ys, xs = np.nonzero(small)
    if not len(ys):
        return None
    size = (2 * sh, 2 * sw)  # every shift's overlap at once: the cross-correlation of piece and forbidden
    overlap = np.fft.irfft2(np.conj(np.fft.rfft2(small.astype(np.float32), size))
                            * np.fft.rfft2(banned.astype(np.float32), size), size)
    dy = np.fft.fftfreq(size[0], 1 / size[0]).astype(int)[:, None]
    dx = np.fft.fftfreq(size[1], 1 / size[1]).astype(int)[None, :]
    inside = (ys.min() + dy >= 1) & (ys.max() + dy < sh - 1) & (xs.min() + dx >= 1) & (xs.max() + dx < sw - 1)
    clear = inside & (overlap < 0.5)
    if not clear.any():
        return None
    distance = np.where(clear, dy ** 2 + dx ** 2, np.iinfo(np.int64).max)
    i, j = np.unravel_index(int(distance.argmin()), distance.shape)
    return int(dy[i, 0]) * step, int(dx[0, j]) * step


def skin_field(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A skin-toned field with low-frequency texture: light to dark skin, pinkish to olive."""
    w, h = size
    tone = np.float32([rng.uniform(120, 240), 0, 0])
    tone[1] = tone[0] * rng.uniform(0.62, 0.85)
    tone[2] = tone[1] * rng.uniform(0.75, 0.95)
    coarse = rng.normal(0, rng.uniform(3, 12), (max(2, h // 24), max(2, w // 24), 1)).astype(np.float32)
    texture = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    return np.clip(tone + texture + rng.normal(0, 2, (h, w, 3)), 0, 255).astype(np.uint8)


def skin_background(skins: list[np.ndarray], size: tuple[int, int], rng: np.random.Generator,
                    synthetic: float = 0.3) -> np.ndarray:
    """A frame of skin: one of ``skins`` (painted-out photos; zoomed, flipped) or, with probability
    ``synthetic``, a synthetic skin field."""
    w, h = size
    if not skins or rng.random() < synthetic:
        return skin_field(size, rng)
    skin = skins[int(rng.integers(len(skins)))]
    sh, sw = skin.shape[:2]
    zoom = rng.uniform(0.6, 1.0)
    cw, ch = int(sw * zoom), int(sh * zoom)
    x0, y0 = int(rng.integers(0, sw - cw + 1)), int(rng.integers(0, sh - ch + 1))
    out = cv2.resize(skin[y0:y0 + ch, x0:x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR)
    return out[:, ::-1] if rng.random() < 0.5 else out


def _oriented(photo: LesionPhoto, rng: np.random.Generator) -> LesionPhoto:
    """A random flip and rotation by a multiple of 90° (lesions have no up)."""
    image, mask = photo.image, photo.mask
    k = int(rng.integers(4))
    image, mask = np.rot90(image, k), np.rot90(mask, k)
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    return LesionPhoto(np.ascontiguousarray(image), np.ascontiguousarray(mask), photo.group, photo.label)


def feather(h: int, w: int) -> np.ndarray:
    """An (h, w, 1) alpha that is 1 inside an ellipse filling the box and fades to 0 at its edge."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2)
    return np.clip((1.05 - d) / 0.25, 0, 1)[..., None]


def _lesion_alpha(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The lesion and a ring of its own skin, with a soft edge."""
    grow = int(rng.integers(5, 25)) | 1
    ring = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
    return cv2.GaussianBlur(ring.astype(np.float32) / 255, (0, 0), grow / 3)


def place(photo: LesionPhoto, background: np.ndarray, rng: np.random.Generator,
          fill: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """The photo on ``background`` at a random scale and position → (frame, mask), frame-sized; with
    probability ``fill`` the photo fills the frame instead (an upload, or a phone photo as taken)."""
    h, w = background.shape[:2]
    photo = _oriented(photo, rng)
    ph0, pw0 = photo.image.shape[:2]
    if rng.random() < fill:  # the photo fills the frame, zoomed in a little at most
        zoom = rng.uniform(0.8, 1.0)
        cw, ch = int(pw0 * zoom), int(ph0 * zoom)
        x0, y0 = int(rng.integers(0, pw0 - cw + 1)), int(rng.integers(0, ph0 - ch + 1))
        image = cv2.resize(photo.image[y0:y0 + ch, x0:x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(photo.mask[y0:y0 + ch, x0:x0 + cw], (w, h), interpolation=cv2.INTER_NEAREST)
        return image, mask
    scale = rng.uniform(0.3, 1.2) * min(w / pw0, h / ph0)  # from a small spot to a photo overflowing the frame
    pw, ph = max(8, int(pw0 * scale)), max(8, int(ph0 * scale))
    image = cv2.resize(photo.image, (pw, ph), interpolation=cv2.INTER_AREA).astype(np.float32)
    lesion = cv2.resize(photo.mask, (pw, ph), interpolation=cv2.INTER_NEAREST)
    if rng.random() < 0.5:  # the whole photo, feathered at its edge
        alpha = feather(ph, pw)[..., 0]
    else:  # only the lesion and its own skin, toned to the new skin
        alpha = _lesion_alpha(lesion, rng)
    x0 = int(rng.integers(-pw // 4, w - 3 * pw // 4 + 1))
    y0 = int(rng.integers(-ph // 4, h - 3 * ph // 4 + 1))
    return _paste(image, lesion, alpha, background, x0, y0, rng)


def wide_field(photo: LesionPhoto, background: np.ndarray, rng: np.random.Generator,
               share: tuple[float, float] = WIDE_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """The photo's lesion and a ring of its own skin, scaled to ``share`` of the frame's area (log-uniform) and
    pasted anywhere on ``background`` with the whole lesion inside the frame, near the border too → (frame, mask).
    The lesion is never enlarged (a far-away spot carries no more detail than its photo): where the share asks for
    that, the frame is ``background`` shrunk instead."""
    h, w = background.shape[:2]
    photo = _oriented(photo, rng)
    area = max(1, int((photo.mask > 127).sum()))
    target = np.exp(rng.uniform(np.log(share[0]), np.log(share[1]))) * w * h
    scale = float(np.sqrt(target / area))
    if scale > 1:
        background = cv2.resize(background, (max(8, round(w / scale)), max(8, round(h / scale))),
                                interpolation=cv2.INTER_AREA)
        h, w = background.shape[:2]
        scale = 1.0
    ph0, pw0 = photo.image.shape[:2]
    pw, ph = max(4, round(pw0 * scale)), max(4, round(ph0 * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    image = cv2.resize(photo.image, (pw, ph), interpolation=interpolation).astype(np.float32)
    lesion = cv2.resize(photo.mask, (pw, ph), interpolation=cv2.INTER_NEAREST)
    ys, xs = np.nonzero(lesion > 127)
    if not len(xs):
        return background.copy(), np.zeros((h, w), np.uint8)
    grow = max(3, int(rng.uniform(0.1, 0.4) * max(xs.max() - xs.min(), ys.max() - ys.min()))) | 1
    ring = cv2.dilate(lesion, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
    alpha = cv2.GaussianBlur(ring.astype(np.float32) / 255, (0, 0), grow / 3)
    x0 = int(rng.integers(-xs.min(), max(-xs.min(), w - xs.max() - 1) + 1))
    y0 = int(rng.integers(-ys.min(), max(-ys.min(), h - ys.max() - 1) + 1))
    return _paste(image, lesion, alpha, background, x0, y0, rng)


def _paste(image: np.ndarray, lesion: np.ndarray, alpha: np.ndarray, background: np.ndarray, x0: int, y0: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (float) blended by ``alpha`` onto ``background`` with its top-left corner at (x0, y0), its own
    skin toned part of the way to the new skin → (frame, the lesion's mask in the frame)."""
    h, w = background.shape[:2]
    ph, pw = image.shape[:2]
    xs, ys, xe, ye = max(0, x0), max(0, y0), min(w, x0 + pw), min(h, y0 + ph)
    frame = background.astype(np.float32)
    window = frame[ys:ye, xs:xe]
    part, a = image[ys - y0:ye - y0, xs - x0:xe - x0], alpha[ys - y0:ye - y0, xs - x0:xe - x0, None]
    own_skin = image[lesion == 0].mean(axis=0) if (lesion == 0).any() else image.reshape(-1, 3).mean(axis=0)
    part = part + (window.reshape(-1, 3).mean(axis=0) - own_skin) * rng.uniform(0.0, 0.8)
    frame[ys:ye, xs:xe] = a * part + (1 - a) * window
    mask = np.zeros((h, w), np.uint8)
    mask[ys:ye, xs:xe] = lesion[ys - y0:ye - y0, xs - x0:xe - x0]
    return np.clip(frame, 0, 255).astype(np.uint8), mask


def scene(photo: LesionPhoto | None, skins: list[np.ndarray], rng: np.random.Generator,
          everyday: np.ndarray | None = None, size: tuple[int, int] = FRAME,
          out_size: tuple[int, int] | None = None, fill: float = 0.3,
          wide: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One training frame and its mask: ``photo`` on skin (filling the frame with probability ``fill``; ``wide``:
    pasted small, ``wide_field``), or (photo None) bare skin or ``everyday``."""
    w, h = size
    if photo is not None and wide:
        frame, mask = wide_field(photo, skin_background(skins, size, rng, synthetic=0.1), rng)
    elif photo is not None:
        frame, mask = place(photo, skin_background(skins, size, rng), rng, fill)
    elif everyday is not None:
        frame, mask = cv2.resize(everyday, (w, h), interpolation=cv2.INTER_AREA), np.zeros((h, w), np.uint8)
    else:
        frame, mask = skin_background(skins, size, rng), np.zeros((h, w), np.uint8)
    frame = camera_effects(frame, rng)
    if out_size is not None:
        frame = cv2.resize(frame, out_size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, out_size, interpolation=cv2.INTER_AREA)
    return frame, mask
