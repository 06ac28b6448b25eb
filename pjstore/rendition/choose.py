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
eval's frontier), since the recipes found at a prefix do not depend on k.

The fast search (the default; SEARCHES) differs in two ways, each only in what it tries, never in
what it keeps: above a megapixel the chroma of each candidate is chosen by the sample's prediction
(pjstore.rendition.prediction) and only the likeliest is searched whole; and the walk starts at
the scan search's predicted cuts (pjstore.ingest). Every decode is still tried: leaving out those
far larger than the rendition (a 12 MP decode for 3 MP) cut 20-35% more CPU, but on 2 of 5 hires
photos the finer decode met the budget at a much shorter prefix (reads at 10% +50%, at 50% +44%).
The quality search itself and its graders are pjstore.rendition.quality_search.

The walk encodes with libjpeg-turbo; each chosen recipe is then searched once more encoded by
jpegli (same prefix, decode and pixels, its 4:2:0 only; colour images), which is kept where it
serves fewer bytes at the threshold. The floor stays libjpeg-turbo's: what static copies would store.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from pjstore.offset_map import OffsetMap, ScaleOffset, rounded
from pjstore.quality.contract import Reference, decode_rgb
from pjstore.quality.metrics import mse_of
from pjstore.render import pipeline
from pjstore.render.colour import CONVERT, KEEP
from pjstore.render.decode import closed_prefix
from pjstore.render.encode import JPEGLI, JPEGLI_SUBSAMPLING
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
from pjstore.rendition.prediction import SampledSearch
from pjstore.rendition.quality_search import Encoded, Encodings, grader, grading, lowest_quality, upright
from pjstore.rendition.recipe import DRAFTS, Recipe, draft_for

DEFAULT_EGRESS = 1.25
# The smallest scale's walk starts this many scans before the prefix contract's cut: a restored
# rendition can serve from less (on 40 shared photos, 10% read 0.050 of the source instead of
# 0.054; 2 scans found nearly all that starting from the first scan did, for half the extra
# CPU). Larger scales gained nothing so.
EARLIER_SCANS = 2
FASTER_WITHIN = 1.05  # a coarser decode is preferred while serving at most 5% more bytes
# The recipe search: "exhaustive" verifies every candidate at every prefix walked by whole-image
# encodes; "fast" ranks candidates on the sample and verifies only the likeliest (ScaleSearch).
SEARCHES = ("fast", "exhaustive")
DEFAULT_SEARCH = "fast"
# Fast search: a candidate whose sample predicts more than this times the budget is not verified.
PREDICTED_OVER = 1.03
SEARCHED_SUBSAMPLINGS = ("4:4:4", "4:2:0")


@dataclass(frozen=True)
class Choice:
    """One scale's verified recipe: the prefix it reads, what it serves and how that scores."""

    index: int  # into the scan ends
    recipe: Recipe
    score: float  # the served file, decoded, against the reference
    served_bytes: int
    floor_bytes: int


def _key(recipe: Recipe) -> tuple[int, bool, str, str]:
    """What a search's guesses are kept by: decode, restoration or not, chroma, encoder."""
    return recipe.draft, recipe.restore is not None, recipe.subsampling, recipe.encoder


class ScaleSearch:
    """The search for one scale of one image (one reference size, one threshold)."""

    def __init__(self, reference: Reference, size: tuple[int, int], threshold: float, look: Look,
                 restoring: bool = True, fast: bool = False):
        self.reference, self.size, self.threshold, self.fast = reference, size, threshold, fast
        self.orientation, self.colour, self.grey = look.orientation, look.colour, look.grey
        self.subsamplings = SEARCHED_SUBSAMPLINGS[-1:] if look.grey else SEARCHED_SUBSAMPLINGS
        self.upright = upright(reference, size, look.orientation)
        self.metric = reference.target.metric
        self.grade_pixels = grading(self.upright, self.metric)
        self.grade = lambda data: self.grade_pixels(decode_rgb(data))
        self.want = reference.at(size)  # stored axes, as the restoration is fit before orienting
        self.restoring = restoring and size[0] * size[1] <= restoration.MAX_PIXELS
        # Per decode, restoration or not, and chroma: the last answer, the last quality over the budget.
        self.guesses: dict[tuple[int, bool, str, str], int] = {}
        self.over_budget: dict[tuple[int, bool, str, str], int] = {}
        self.sampled_guesses: dict[tuple[int, bool, str, str], int] = {}  # the sample's last answers
        self.calibration: dict[str, float] = {}  # per chroma, whole bytes over predicted (fast search)

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
        """Per decode of `drafts`, the recipes of `recipes_of` from `prefix`."""
        found: list[tuple[Recipe, Encoded]] = []
        for draft in drafts:
            base = Recipe(draft=draft, colour=self.colour)
            resized, icc = pipeline.coloured(pipeline.decoded(prefix, base, self.size), base, self.size)
            found += self.recipes_of(resized, icc, base, budget)
        return found

    def recipes_of(self, resized: Image.Image, icc: bytes | None, base: Recipe,
                   budget: float = float("inf")) -> list[tuple[Recipe, Encoded]]:
        """From pixels decoded, coloured and resized as `base` says: with a restoration filter fit to
        the reference and (where that served) without, and per chroma, the lowest quality meeting
        the threshold, where it serves at most `budget` bytes. Pixels that miss the threshold
        before any encoding are not encoded (the encoder's loss only adds to theirs)."""
        found: list[tuple[Recipe, Encoded]] = []
        fitted = restoration.fit(np.asarray(resized), self.want) if self.restoring else None
        # Restored first: the unrestored pixels score lower, so where the restored ones serve
        # nothing within the budget the unrestored are not tried (most prefixes of a walk).
        variants = [base] if fitted is None else [replace(base, restore=fitted), base]
        for variant in variants:
            served = pipeline.finished(resized, variant, self.size, self.orientation)
            own = self.grade_pixels(served)
            if own < self.threshold:
                break
            chromas = [replace(variant, subsampling=s) for s in self.subsamplings]
            recipes = self._predicted(served, icc, chromas, budget, own) if self.fast else \
                [self._lowest(served, icc, recipe, budget) for recipe in chromas]
            found += [r for r in recipes if r is not None]
            if not any(recipes):
                break
        return found

    def _predicted(self, served: Image.Image, icc: bytes | None, chromas: list[Recipe],
                   budget: float, own: float) -> list[tuple[Recipe, Encoded] | None]:
        """The fast search's chroma choice: each chroma's lowest quality and bytes predicted on the
        sample (the encoder's loss on these very pixels, at a share of the encodes), then the whole
        search run only on the one predicted to serve fewest, and on the next where that one
        misses; one predicted beyond the budget is not tried (it is a prediction that it cannot
        fit: nothing unverified is kept). Without a sample (renditions up to sample.ABOVE pixels,
        where encodes are cheap) every chroma is searched as the exhaustive search does."""
        ranked = []
        for recipe in chromas:
            sampled = SampledSearch.of(served, self.sampled_want, recipe, icc, self.metric)
            if sampled is None:
                return [self._lowest(served, icc, r, budget) for r in chromas]
            key = _key(recipe)
            own_mse = mse_of(own) if self.metric == "psnr" else None
            answer = sampled.quality(self.threshold, self.sampled_guesses.get(key), own_mse)
            if answer is None:
                continue
            self.sampled_guesses[key] = answer
            predicted = sampled.bytes(answer) * self.calibration.get(recipe.subsampling, 1.0)
            if predicted <= PREDICTED_OVER * budget:
                ranked.append((predicted, recipe, answer, sampled))
        for _, recipe, answer, sampled in sorted(ranked, key=lambda r: r[0]):
            verified = self._verified(served, icc, recipe, answer, budget)
            if verified is not None:
                # What the whole image took over what its sample predicted, at the quality kept:
                # the next predictions of this chroma are scaled by it.
                self.calibration[recipe.subsampling] = len(verified[1].data) / sampled.bytes(verified[0].quality)
                return [verified]
        return []

    def _verified(self, served: Image.Image, icc: bytes | None, recipe: Recipe, guess: int | None,
                  budget: float) -> tuple[Recipe, Encoded] | None:
        """The lowest quality of `recipe` meeting the threshold on the whole image, searched from
        `guess`, where it serves at most `budget` bytes (bytes rise with quality: when the lowest
        meeting it is over, every quality meeting it is)."""
        encodings = Encodings(served, icc, recipe, self.grade)
        lowest = lowest_quality(encodings.graded, lambda e: e.score >= self.threshold, guess)
        if lowest is None or len(lowest[1].data) > budget:
            return None
        self.guesses[_key(recipe)] = lowest[0]
        return replace(recipe, quality=lowest[0]), lowest[1]

    def _lowest(self, served: Image.Image, icc: bytes | None, recipe: Recipe,
                budget: float) -> tuple[Recipe, Encoded] | None:
        """The lowest quality of `recipe` (its decode, restoration and chroma) whose encoding of
        `served` meets the threshold within `budget` bytes."""
        key = _key(recipe)
        encodings = Encodings(served, icc, recipe, self.grade)
        encode, at = encodings.data, encodings.graded
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
           look: Look, starts: dict[float, int], search_mode: str = DEFAULT_SEARCH) -> dict[float, Choice]:
    """The recipe for `scale` (1.0: full size) under each egress policy k of
    `starts`, searching prefixes from its start index. One walk serves every k: the recipes found
    at a prefix do not depend on k, only which of them are within k * floor."""
    if min(starts) < 1:
        raise ValueError(f"the egress policy allows at least the floor (k >= 1), not {min(starts)}")
    if search_mode not in SEARCHES:
        raise ValueError(f"unknown recipe search {search_mode!r}; choose from {SEARCHES}")
    fast = search_mode == "fast"
    size = reference.size(scale)
    search = ScaleSearch(reference, size, threshold, look, fast=fast)
    last = len(scan_ends) - 1
    # The floor is made the ideal way, as a static copy would be: colour converted before the
    # resize, and no restoration (it has nothing to restore).
    ideal_look = replace(look, colour="convert") if look.colour == CONVERT else look
    ideal = ScaleSearch(reference, size, threshold, ideal_look, restoring=False, fast=fast)
    if look.grey or look.colour == KEEP:
        whole = ideal.recipes_at(stored, (1,))
    else:  # the whole file's pixels made the ideal way are the reference's own (the transcode is lossless)
        whole = ideal.recipes_of(Image.fromarray(reference.at(size)), None, Recipe(colour=ideal_look.colour))
    search.guesses.update(ideal.guesses)
    search.sampled_guesses.update(ideal.sampled_guesses)
    search.calibration.update(ideal.calibration)
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
        at = [floor] if index == last else search.recipes_at(closed_prefix(stored, scan_ends[index]), drafts, budget)
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
    whole = chosen.index == len(scan_ends) - 1
    prefix = closed_prefix(stored, len(stored) if whole else scan_ends[chosen.index])
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
                   formats: tuple[str, ...] = AVAILABLE, search_mode: str = DEFAULT_SEARCH) -> dict[float, OffsetMap]:
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
        chosen = choose(stored, scan_ends, references(look.colour), scale, threshold, look, begin, search_mode)
        dwarfed = {k: begin[k] for k, c in chosen.items() if look.colour == "keep" and 2 * icc_bytes > c.served_bytes}
        if dwarfed:
            chosen |= choose(stored, scan_ends, references(CONVERT), scale, threshold,
                             replace(look, colour=CONVERT), dwarfed, search_mode)
        w, h = references(look.colour).size(scale)
        encoded: dict[tuple[int, Recipe], tuple[FormatRendition, ...]] = {}  # policies often agree
        for k, c in chosen.items():
            offset = len(stored) if c.index == last else scan_ends[c.index]
            if formats and (c.index, c.recipe) not in encoded:
                prefix = closed_prefix(stored, offset)
                encoded[c.index, c.recipe] = format_renditions(prefix, references(c.recipe.colour), (w, h), threshold,
                                                               look.orientation, c.recipe, formats, guesses)
            entries[k].append(ScaleOffset(scale, w, h, offset, rounded(c.score), c.recipe, c.served_bytes,
                                          c.floor_bytes, encoded.get((c.index, c.recipe), ())))
            floors[k] = c.index
    return {k: OffsetMap(target.metric, tuple(rows)) for k, rows in entries.items()}
