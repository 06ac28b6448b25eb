"""Write-time recipe search: per stored scale, the rendition the read path will serve.

For each scale the *floor* is found first: the smallest baseline JPEG of the scale's size, made
from the whole stored file (whose pixels are the source's: the transcode is lossless) by the read
path itself, meeting the threshold. The egress policy allows served files up to `egress` times
the floor. Then scan-complete prefixes are tried in offset order from a start; at each, a full
decode and every DCT-scaled one the size allows, each as resized and with a restoration filter
fit to the reference (pjstore.rendition.restoration), each at the lowest quality meeting the
threshold for 4:4:4 and 4:2:0 chroma (bisection, or a gallop from the previous prefix's answer,
or above a megapixel from the answer on a sample of tiles, pjstore.rendition.sample; every step a
real encode and decode). The first prefix with a recipe inside the policy wins
(fewest stored bytes read), and among its recipes inside the policy the coarsest decode serving
within 5% of the fewest bytes (renders faster), unrestored where that is as good. The whole
file always qualifies (it serves the floor). One walk answers several policies at once (the
eval's frontier), since the recipes found at a prefix do not depend on k. The walk encodes with
libjpeg-turbo; each chosen recipe is then searched once more encoded by jpegli (same prefix,
decode and pixels, its 4:2:0 only; colour images), which is kept where it serves fewer bytes at
the threshold. The floor stays libjpeg-turbo's: what static copies would store.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
from PIL import Image

from pjstore.offset_map import OffsetMap, ScaleOffset, rounded
from pjstore.quality.contract import Reference, decode_rgb
from pjstore.quality.metrics import METRICS
from pjstore.render import pipeline
from pjstore.render.colour import CONVERT
from pjstore.render.decode import EOI
from pjstore.render.encode import JPEGLI, JPEGLI_SUBSAMPLING
from pjstore.render.orient import orient
from pjstore.rendition import restoration, sample
from pjstore.rendition.formats import (
    AVAILABLE,
    AVIF_SUBSAMPLING,
    AVIF_TUNE,
    FIRST_GUESS,
    WEBP_METHOD,
    WEBP_PASSES,
    WEBP_STEPS,
    Encoding,
    FormatRendition,
    avif_speed,
)
from pjstore.rendition.formats import encode as encode_as
from pjstore.rendition.recipe import DRAFTS, Recipe, draft_for

DEFAULT_EGRESS = 1.25
# The smallest scale's walk starts this many scans before the prefix contract's cut: a restored
# rendition can serve from less (on 40 shared photos, 10% read 0.050 of the source instead of
# 0.054; 2 scans found nearly all that starting from the first scan did, for half the extra
# CPU). Larger scales gained nothing so.
EARLIER_SCANS = 2
FASTER_WITHIN = 1.05  # a coarser decode is preferred while serving at most 5% more bytes
T = TypeVar("T")
SEARCHED_SUBSAMPLINGS = ("4:4:4", "4:2:0")


@dataclass(frozen=True)
class Choice:
    """One scale's verified recipe: the prefix it reads, what it serves and how that scores."""

    index: int  # into the scan ends
    recipe: Recipe
    score: float  # the served file, decoded, against the reference
    served_bytes: int
    floor_bytes: int


@dataclass(frozen=True)
class Encoded:
    data: bytes
    score: float


def lowest_quality(at: Callable[[int], T], meets: Callable[[T], bool],
                   guess: int | None = None) -> tuple[int, T] | None:
    """The lowest quality in 1..100 whose encoding meets the target, assuming the score rises with
    quality (libjpeg's scaled tables, up to rounding); None when even 100 misses. With a `guess`
    (say, the answer for a neighbouring prefix) it gallops from there before bisecting, which
    takes a few encodes instead of seven when the guess is close."""
    tried: dict[int, T] = {}

    def get(q: int) -> T:
        if q not in tried:
            tried[q] = at(q)
        return tried[q]

    lo, hi = 1, 100  # invariant: `hi` meets, everything below `lo` misses
    if guess is not None and 1 <= guess <= 100:
        step = 1
        if meets(get(guess)):
            hi = guess
            while hi > 1 and meets(get(max(1, hi - step))):
                hi, step = max(1, hi - step), 2 * step
            lo = max(1, hi - step + 1)
        else:
            lo = guess + 1
            while lo <= 100 and not meets(get(min(100, guess + step))):
                lo, step = min(100, guess + step) + 1, 2 * step
            if lo > 100:
                return None
            hi = min(100, guess + step)
    elif not meets(get(100)):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if meets(get(mid)):
            hi = mid
        else:
            lo = mid + 1
    return hi, get(hi)


def upright(reference: Reference, size: tuple[int, int], orientation: int) -> np.ndarray:
    """The reference at `size`, made upright: what served pixels are graded against."""
    return np.asarray(orient(Image.fromarray(reference.at(size)), orientation))


def pixel_grader(reference: Reference, size: tuple[int, int], orientation: int) -> Callable[[Image.Image], float]:
    """The contract score of served pixels (RGB or L), against the reference at `size`, made upright."""
    return grading(upright(reference, size, orientation), reference.target.metric)


def grading(want: np.ndarray, metric: str) -> Callable[[Image.Image], float]:
    """The `metric` score of pixels (RGB or L) against `want` (RGB)."""
    score = METRICS[metric]
    return lambda image: score(want, np.asarray(image.convert("RGB")))


class SampledSearch:
    """A recipe's quality search run first on a sample of large served pixels (pjstore.rendition.sample):
    its answers are the whole search's first guesses, so that search gallops a few encodes from
    there instead of bisecting 1..100 at full size."""

    def __init__(self, pixels: np.ndarray, want: np.ndarray, share: float, recipe: Recipe,
                 profile_bytes: int, metric: str):
        self.image, self.want, self.share = Image.fromarray(pixels), want, share
        self.recipe, self.profile_bytes, self.score = recipe, profile_bytes, METRICS[metric]
        self.encodes: dict[int, bytes] = {}

    @classmethod
    def of(cls, served: Image.Image, want: np.ndarray | None, recipe: Recipe, icc: bytes | None,
           metric: str) -> SampledSearch | None:
        """The sample's search of `served`, given the reference's sample `want` (edges of tiles left
        out: `ScaleSearch.sampled_want`, None where a sample would not save work)."""
        if want is None:
            return None
        pixels = sample.mosaic(np.asarray(served))
        if pixels is None:
            return None
        share = served.width * served.height / (pixels.shape[0] * pixels.shape[1])
        return cls(pixels, want, share, recipe, len(icc or b""), metric)

    def _encode(self, q: int) -> bytes:
        if q not in self.encodes:  # without the profile: it is not part of what scales with the area
            self.encodes[q] = pipeline.encode_pixels(self.image, replace(self.recipe, quality=q), None)
        return self.encodes[q]

    def quality(self, threshold: float, guess: int | None = None) -> int | None:
        """The sample's lowest quality meeting `threshold` (edges of tiles left out), searched from `guess`."""
        def score(q: int) -> float:
            return self.score(self.want, sample.inner(np.asarray(decode_rgb(self._encode(q)))))

        found = lowest_quality(score, lambda s: s >= threshold, guess)
        return None if found is None else found[0]

    def over(self, budget: float) -> int | None:
        """The lowest quality whose bytes, the sample's scaled to the whole image, exceed `budget`."""
        found = lowest_quality(lambda q: self.share * len(self._encode(q)) + self.profile_bytes, lambda n: n > budget)
        return None if found is None else found[0]


def grader(reference: Reference, size: tuple[int, int], orientation: int) -> Callable[[bytes], float]:
    """The contract score of a served JPEG: decoded, against the reference at `size`, made upright."""
    grade = pixel_grader(reference, size, orientation)
    return lambda data: grade(decode_rgb(data))


class ScaleSearch:
    """The search for one scale of one image (one reference size, one threshold)."""

    def __init__(self, reference: Reference, size: tuple[int, int], threshold: float, look: Look,
                 restoring: bool = True):
        self.reference, self.size, self.threshold = reference, size, threshold
        self.orientation, self.colour, self.grey = look.orientation, look.colour, look.grey
        self.subsamplings = SEARCHED_SUBSAMPLINGS[-1:] if look.grey else SEARCHED_SUBSAMPLINGS
        self.upright = upright(reference, size, look.orientation)
        self.metric = reference.target.metric
        self.grade_pixels = grading(self.upright, self.metric)
        self.grade = lambda data: self.grade_pixels(decode_rgb(data))
        self.want = reference.at(size)  # stored axes, as the restoration is fit before orienting
        self.restoring = restoring and size[0] * size[1] <= restoration.MAX_PIXELS
        # Per decode, restoration or not, chroma and encoder: the last answer, the last quality over the budget.
        self.guesses: dict[tuple[int, bool, str, str], int] = {}
        self.over_budget: dict[tuple[int, bool, str, str], int] = {}
        self.sampled_guesses: dict[tuple[int, bool, str, str], int] = {}  # the sample's last answers

    @functools.cached_property
    def sampled_want(self) -> np.ndarray | None:
        """The reference's sample (pjstore.rendition.sample), edges of tiles left out, made once for
        every search of this scale; None at or below sample.ABOVE pixels, where searches are cheap."""
        if self.size[0] * self.size[1] <= sample.ABOVE:
            return None
        wanted = sample.mosaic(self.upright)
        return None if wanted is None else sample.inner(wanted)

    def recipes_at(self, prefix: bytes, drafts: tuple[int, ...],
                   budget: float = float("inf")) -> list[tuple[Recipe, Encoded]]:
        """Per decode of `drafts`, with a restoration filter fit to the reference and (where that
        served) without, and per chroma, the lowest quality meeting the threshold from `prefix`,
        where it serves at most `budget` bytes. Pixels that miss the threshold before any encoding
        are not encoded (the encoder's loss only adds to theirs)."""
        found: list[tuple[Recipe, Encoded]] = []
        for draft in drafts:
            base = Recipe(draft=draft, colour=self.colour)
            resized, icc = pipeline.coloured(pipeline.decoded(prefix, base, self.size), base, self.size)
            fitted = restoration.fit(np.asarray(resized), self.want) if self.restoring else None
            # Restored first: the unrestored pixels score lower, so where the restored ones serve
            # nothing within the budget the unrestored are not tried (most prefixes of a walk).
            variants = [base] if fitted is None else [replace(base, restore=fitted), base]
            for variant in variants:
                served = pipeline.finished(resized, variant, self.size, self.orientation)
                if self.grade_pixels(served) < self.threshold:
                    break
                recipes = [self._lowest(served, icc, replace(variant, subsampling=s), budget)
                           for s in self.subsamplings]
                found += [r for r in recipes if r is not None]
                if not any(recipes):
                    break
        return found

    def _lowest(self, served: Image.Image, icc: bytes | None, recipe: Recipe,
                budget: float) -> tuple[Recipe, Encoded] | None:
        """The lowest quality of `recipe` (its decode, restoration and chroma) whose encoding of
        `served` meets the threshold within `budget` bytes."""
        key = (recipe.draft, recipe.restore is not None, recipe.subsampling, recipe.encoder)
        encodes: dict[int, bytes] = {}
        scored: dict[int, Encoded] = {}

        def encode(q: int) -> bytes:
            if q not in encodes:
                encodes[q] = pipeline.encode_pixels(served, replace(recipe, quality=q), icc)
            return encodes[q]

        def at(q: int) -> Encoded:
            if q not in scored:
                data = encode(q)
                scored[q] = Encoded(data, self.grade(data))
            return scored[q]

        guess, over_guess = self.guesses.get(key), self.over_budget.get(key)
        sampled = SampledSearch.of(served, self.sampled_want, recipe, icc, self.metric)
        top = None
        if budget < float("inf"):
            # The highest quality within the budget (bytes rise with quality), found by encodes
            # alone (no decode, no grade) from the neighbouring prefix's: where even it misses
            # the threshold, nothing fits, and most prefixes of a walk are settled so.
            if over_guess is None and sampled is not None:
                over_guess = sampled.over(budget)
            over = lowest_quality(lambda q: len(encode(q)), lambda n: n > budget, over_guess)
            top = 100 if over is None else over[0] - 1
            self.over_budget[key] = top + 1
            if top < 1 or at(top).score < self.threshold:
                return None
        if sampled is not None:
            # At upload sizes the sample's answer, galloped to from its answer at the neighbouring
            # prefix, is a closer guess than the whole search's answer there (the quality needed
            # falls as prefixes grow) and costs a fraction of one encode at full size.
            answer = sampled.quality(self.threshold, self.sampled_guesses.get(key))
            if answer is not None:
                guess = self.sampled_guesses[key] = answer
        if top is not None:
            guess = min(guess or top, top)
        lowest = lowest_quality(at, lambda e: e.score >= self.threshold, guess)
        if lowest is None:
            return None
        q, encoded = lowest
        self.guesses[key] = q
        return replace(recipe, quality=q), encoded

    def by_jpegli(self, prefix: bytes, chosen: Recipe, served_bytes: int) -> tuple[Recipe, Encoded] | None:
        """`chosen` (read from `prefix`) encoded by jpegli instead, at its lowest quality meeting the
        threshold, where that serves fewer than `served_bytes`; None elsewhere and for greyscale
        (pyjpegli writes it as three components)."""
        if self.grey:
            return None
        recipe = replace(chosen, encoder=JPEGLI, subsampling=JPEGLI_SUBSAMPLING)
        served, icc = pipeline.pixels(pipeline.decoded(prefix, recipe, self.size), recipe, self.size,
                                      self.orientation)
        return self._lowest(served, icc, recipe, served_bytes - 1)

    def best_effort(self, whole: bytes) -> tuple[Recipe, Encoded]:
        """When no quality meets the threshold: the best-scoring quality-100 rendition of the whole file."""
        options = []
        for subsampling in self.subsamplings:
            recipe = Recipe(quality=100, subsampling=subsampling, colour=self.colour)
            data, _ = pipeline.make_rendition(whole, recipe, self.size, self.orientation)
            options.append((recipe, Encoded(data, self.grade(data))))
        return max(options, key=lambda o: o[1].score)


def preferred(found: list[tuple[Recipe, Encoded]], budget: float) -> tuple[Recipe, Encoded] | None:
    """Among recipes serving at most `budget` bytes, the coarsest decode within FASTER_WITHIN of
    the fewest bytes (a DCT-scaled decode skips most of the IDCT and the resize, the bulk of a
    render at upload sizes), then one without restoration (a filter less). None when none fits."""
    fits = [f for f in found if len(f[1].data) <= budget]
    if not fits:
        return None
    fewest = min(len(e.data) for _, e in fits)
    return min(fits, key=lambda f: (len(f[1].data) > FASTER_WITHIN * fewest, -f[0].draft,
                                    f[0].restore is not None, len(f[1].data)))


@dataclass(frozen=True)
class Look:
    """What every rendition of one image shares: orientation, colour handling, grey or colour."""

    orientation: int = 1
    colour: str = "none"
    grey: bool = False


def choose(stored: bytes, scan_ends: tuple[int, ...], reference: Reference, scale: float, threshold: float,
           look: Look, starts: dict[float, int]) -> dict[float, Choice]:
    """The recipe for `scale` (1.0: full size) under each egress policy k of
    `starts`, searching prefixes from its start index. One walk serves every k: the recipes found
    at a prefix do not depend on k, only which of them are within k * floor."""
    if min(starts) < 1:
        raise ValueError(f"the egress policy allows at least the floor (k >= 1), not {min(starts)}")
    size = reference.size(scale)
    search = ScaleSearch(reference, size, threshold, look)
    last = len(scan_ends) - 1
    # The floor is made the ideal way, as a static copy would be: colour converted before the
    # resize, and no restoration (it has nothing to restore).
    ideal = ScaleSearch(reference, size, threshold, replace(look, colour="convert") if look.colour == CONVERT
                        else look, restoring=False)
    whole = ideal.recipes_at(stored, (1,))
    search.guesses.update(ideal.guesses)
    floor = min(whole, key=lambda f: len(f[1].data)) if whole else None  # the smallest, by definition
    if floor is None:
        recipe, encoded = search.best_effort(stored)
        return {k: Choice(last, recipe, encoded.score, len(encoded.data), len(encoded.data)) for k in starts}
    floor_bytes = len(floor[1].data)
    # Every decode from full size to DCT-scaled just above the size (the fastest: little or nothing
    # left to resize). The best is often in between: on a 15 MP photo 1/2 served within 0.2% of
    # the full decode's bytes at 10% and 25% for about half its render CPU, where 1/4 and 1/8
    # served 6-24% more (at 25% 1/2 fell a pixel short of twice the size, the old rule for it).
    coarsest = draft_for((reference.width, reference.height), size, oversample=1)
    drafts = tuple(d for d in DRAFTS if d <= coarsest)
    found: dict[float, Choice] = {}
    for index in range(min(last, *starts.values()), last + 1):
        pending = [k for k, start in starts.items() if k not in found and start <= index]
        if not pending:
            if len(found) == len(starts):
                break
            continue
        # The whole file serves the floor (within every policy); elsewhere only what fits the
        # largest pending policy's budget is worth finding.
        budget = max(pending) * floor_bytes
        at = [floor] if index == last else search.recipes_at(bytes(stored[:scan_ends[index]]) + EOI, drafts, budget)
        for k in pending:
            best = preferred(at, k * floor_bytes)  # the whole file always has one: the floor
            if best is not None:
                recipe, encoded = best
                found[k] = Choice(index, recipe, encoded.score, len(encoded.data), floor_bytes)
    by_recipe: dict[tuple[int, Recipe], Choice] = {}  # policies often agree
    for c in found.values():
        if (c.index, c.recipe) not in by_recipe:
            by_recipe[c.index, c.recipe] = smaller_by_jpegli(c, search, stored, scan_ends)
    return {k: by_recipe[c.index, c.recipe] for k, c in found.items()}


def smaller_by_jpegli(chosen: Choice, search: ScaleSearch, stored: bytes, scan_ends: tuple[int, ...]) -> Choice:
    """`chosen` encoded by jpegli where that serves fewer bytes at the threshold (ScaleSearch.by_jpegli)."""
    prefix = stored if chosen.index == len(scan_ends) - 1 else bytes(stored[:scan_ends[chosen.index]]) + EOI
    smaller = search.by_jpegli(prefix, chosen.recipe, chosen.served_bytes)
    if smaller is None:
        return chosen
    recipe, encoded = smaller
    return replace(chosen, recipe=recipe, score=encoded.score, served_bytes=len(encoded.data))


def choose_encoding(image: Image.Image, icc: bytes | None, fmt: str, grade: Callable[[bytes], float],
                    threshold: float, guess: int | None = None) -> FormatRendition:
    """The `fmt` setting serving the fewest bytes of `image` (the served pixels) that, decoded,
    meets `threshold`; where none does, the best-scoring one there is (WebP lossless, AVIF q100).
    Where plain WebP misses, lossy WebP with error feedback and lossless WebP of rounded pixels (the
    coarsest rounding meeting the threshold) are tried, the fewer bytes kept; feedback's answers
    were at quality 96-98 on the shared photos, so its search starts there. AVIF is searched at 4:4:4
    only: tuned for PSNR it beat 4:2:0 at the threshold nearly everywhere."""
    avif = fmt == "avif"
    effort = avif_speed(image.width * image.height) if avif else WEBP_METHOD
    base = Encoding(fmt, 100, effort, AVIF_SUBSAMPLING, tune=AVIF_TUNE) if avif else Encoding(fmt, 100, effort)

    def graded(enc: Encoding) -> FormatRendition:
        data = encode_as(image, enc, icc)
        return FormatRendition(enc, grade(data), len(data))

    def meets(r: FormatRendition) -> bool:
        return r.score >= threshold

    def lowest(start: Encoding, first: int) -> FormatRendition | None:
        found = lowest_quality(lambda q: graded(replace(start, quality=q)), meets, first)
        return None if found is None else found[1]

    plain = lowest(base, guess or FIRST_GUESS[fmt])
    if plain is not None:
        return plain
    if avif:
        return graded(base)
    options = [lowest(replace(base, passes=WEBP_PASSES), 97)]
    for step in WEBP_STEPS:  # coarsest first; bytes fall as the step grows
        near = graded(replace(base, lossless=True, step=step))
        if meets(near) or step == 1:
            options.append(near)
            break
    return min((o for o in options if o is not None), key=lambda o: (not meets(o), o.served_bytes))


def format_renditions(prefix: bytes, reference: Reference, size: tuple[int, int], threshold: float,
                      orientation: int, recipe: Recipe, formats: tuple[str, ...],
                      guesses: dict[str, int]) -> tuple[FormatRendition, ...]:
    """Each format's setting for exactly the pixels `recipe` serves from `prefix` (same prefix, decode,
    resize: bytes read are the JPEG rendition's), verified like the JPEG quality. `guesses` (a format's
    quality at the previous scale, where its search starts) is updated."""
    image, icc = pipeline.pixels(pipeline.decoded(prefix, recipe, size), recipe, size, orientation)
    grade = grader(reference, size, orientation)
    found = tuple(choose_encoding(image, icc, f, grade, threshold, guesses.get(f)) for f in formats)
    guesses.update({f.encoding.format: f.encoding.quality for f in found})
    return tuple(replace(f, score=rounded(f.score)) for f in found)


def served_offsets(stored: bytes, scan_ends: tuple[int, ...], references: Callable[[str], Reference],
                   look: Look, egresses: tuple[float, ...] = (DEFAULT_EGRESS,),
                   starts: dict[float, int] | None = None, icc_bytes: int = 0,
                   formats: tuple[str, ...] = AVAILABLE) -> dict[float, OffsetMap]:
    """Every scale's choice under each egress policy, full size last (at the last scale's threshold).
    Full size is served from a prefix too: a rendition at 32 dB needs far less than every
    coefficient bit (a 12.7 MP photo's prefix of 34% decodes to 40.8 dB), and the fewer scans also
    decode faster.

    `references(colour)` is the reference in that colour handling's served colour space. A scale's
    search starts at its `starts` hint (the prefix contract's cut; EARLIER_SCANS before it for the
    smallest scale) and never below the previous scale's cut, so offsets never decrease with scale. A
    kept profile that would be more than half a scale's rendition is converted away instead. Each
    row also gets a verified setting per format of `formats` (WebP, AVIF) for its recipe's pixels.
    """
    target = references(look.colour).target
    last = len(scan_ends) - 1
    entries: dict[float, list[ScaleOffset]] = {k: [] for k in egresses}
    floors = dict.fromkeys(egresses, 0)
    guesses: dict[str, int] = {}
    for scale, threshold in [*zip(target.scales, target.thresholds, strict=True), (1.0, target.thresholds[-1])]:
        hint = (starts or {}).get(scale, 0)
        if scale == target.scales[0]:
            hint = max(0, hint - EARLIER_SCANS)
        # With modern formats full size keeps the whole file: their settings are searched on the JPEG
        # recipe's pixels, and a prefix that barely serves 32 dB as JPEG can leave AVIF none that does.
        begin = {k: last if scale == 1.0 and formats else max(floors[k], hint) for k in egresses}
        chosen = choose(stored, scan_ends, references(look.colour), scale, threshold, look, begin)
        dwarfed = {k: begin[k] for k, c in chosen.items() if look.colour == "keep" and 2 * icc_bytes > c.served_bytes}
        if dwarfed:
            chosen |= choose(stored, scan_ends, references(CONVERT), scale, threshold,
                             replace(look, colour=CONVERT), dwarfed)
        w, h = references(look.colour).size(scale)
        encoded: dict[tuple[int, Recipe], tuple[FormatRendition, ...]] = {}  # policies often agree
        for k, c in chosen.items():
            offset = len(stored) if c.index == last else scan_ends[c.index]
            if formats and (c.index, c.recipe) not in encoded:
                prefix = stored if c.index == last else bytes(stored[:offset]) + EOI
                encoded[c.index, c.recipe] = format_renditions(prefix, references(c.recipe.colour), (w, h), threshold,
                                                               look.orientation, c.recipe, formats, guesses)
            entries[k].append(ScaleOffset(scale, w, h, offset, rounded(c.score), c.recipe, c.served_bytes,
                                          c.floor_bytes, encoded.get((c.index, c.recipe), ())))
            floors[k] = c.index
    return {k: OffsetMap(target.metric, tuple(rows)) for k, rows in entries.items()}
