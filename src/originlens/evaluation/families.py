"""Group the labelled files into *parts* and *families* so a pooled number cannot hide a weak spot.

Pure functions of a manifest row's text (file path, ``generator``, ``notes``, label): no file is
opened, so a training script can split its data the same way. The rules read the words a
manifest uses to say what made a file; they never look at a result.

* Parts: :data:`CNNDETECTION_PART` (the 2020 GAN benchmark crops, ``ai/cnndetection/`` and
  ``real/cnndetection/``) and :data:`RECENT_PART` (every other labelled file).
* AI families: ``GAN``, ``diffusion``, ``autoregressive``, ``closed service``, ``AI processing``
  (AI applied to a real photo: super-resolution, low-light, face swap, inpainting),
  ``video model``.
* Human families: ``camera photo``, ``phone photo``, ``scan/document``, ``art/illustration``,
  ``render/CG``, ``test graphic``.
* A labelled row no rule recognises goes to ``other AI`` / ``other human``: visible in the
  report rather than silently counted in a family it may not belong to.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

CNNDETECTION_PART = "CNNDetection GAN benchmark"
RECENT_PART = "recent generators vs camera photos"
PARTS: tuple[str, ...] = (CNNDETECTION_PART, RECENT_PART)

AI_FAMILIES: tuple[str, ...] = ("GAN", "diffusion", "autoregressive", "closed service", "AI processing", "video model")
HUMAN_FAMILIES: tuple[str, ...] = (
    "camera photo",
    "phone photo",
    "scan/document",
    "art/illustration",
    "render/CG",
    "test graphic",
)
OTHER_AI, OTHER_HUMAN = "other AI", "other human"
FAMILIES: tuple[str, ...] = (*AI_FAMILIES, OTHER_AI, *HUMAN_FAMILIES, OTHER_HUMAN)


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.IGNORECASE)


# AI rules, first match wins. Order matters where names overlap: a video model can be a
# diffusion model ("Stable Video Diffusion"), a hosted service can be one too, and processing
# of a real photo ("SD inpainting", "GAN super-resolution") is processing whatever network did it.
_AI_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "video model",
        _words(
            r"\bvideo (model|diffusion|generation)",
            r"\b(img|text|image)[ -]?2[ -]?vid",
            r"\bt2v\b",
            r"\bi2v\b",
            r"cogvideo",
            r"\bmochi\b",
            r"\bwan ?2\.\d",
            r"hunyuan ?video",
            r"\bsora\b",
            r"\bveo ?\d?\b",
            r"\brunway\b",
            r"\bgen-?[234]\b",
            r"\bpika\b",
            r"\bkling\b",
            r"\bltx-?video\b",
            r"animatediff",
            r"^video/ai/",
        ),
    ),
    (
        "closed service",
        _words(
            r"firefly",
            r"gemini",
            r"nano[- ]?banana",
            r"imagen",
            r"midjourney",
            r"dall[- ·]?e",
            r"gpt[- ]?image",
            r"gpt-4o",
            r"chatgpt",
            r"ideogram",
            r"leonardo\.?ai",
            r"novelai",
            r"\bgrok\b",
            r"aurora \(xai\)",
            r"recraft",
            r"bing image creator",
            r"seedream",
        ),
    ),
    (
        "AI processing",
        _words(
            r"super[- ]?resolution",
            r"upscal",
            r"\bsitd\b",
            r"see(ing)? in the dark",
            r"low[- ]?light",
            r"denois",
            r"face ?swap",
            r"deepfake",
            r"face2face",
            r"faceswap",
            r"neural ?textures",
            r"inpaint",
            r"outpaint",
            r"generative fill",
            r"\bretouch",
            r"colori[sz]ation",
            r"\bedit(ed|ing)? (by|with) (an )?ai\b",
        ),
    ),
    (
        "GAN",
        _words(
            r"(?<![or])gans?\d*\b",  # CycleGAN, GauGAN, StyleGAN2-ADA, GAN; not "organ", "slogan"
            r"\bcrn\b",
            r"cascaded refinement",
            r"\bimle\b",
            r"\bspade\b",
            r"\bpix2pix",
            r"\bbiggan\b",
            r"\bwhichfaceisreal\b",
        ),
    ),
    (
        "autoregressive",
        _words(
            r"autoregressive",
            r"llamagen",
            r"\bjanus\b",
            r"\bvar\b",
            r"\binfinity\b",
            r"\bemu ?3\b",
            r"\bparti\b",
            r"\bhart\b",
            r"lumina-mgpt",
            r"\bchameleon\b",
            r"\bshow-o\b",
            r"\bdall-?e ?(mini|mega)\b",
            r"craiyon",
            r"\bcogview ?[12]?\b",
        ),
    ),
    (
        "diffusion",
        _words(
            r"diffusion",
            r"\bsd ?(1|2|3|xl|v1|v2)",
            r"\bsdxl",
            r"\bflux",
            r"\bcomfyui\b",
            r"automatic1111",
            r"\ba1111\b",
            r"\bforge\b",
            r"fooocus",
            r"invokeai",
            r"stable cascade",
            r"\bwuerstchen\b",
            r"auraflow|aura_flow|aura flow",
            r"\bchroma\d|\bchroma[- ]hd\b",  # Chroma1-HD, not "chroma subsampling"
            r"hunyuan",
            r"lumina",
            r"cosmos",
            r"omnigen",
            r"pixart",
            r"playground v",
            r"kandinsky",
            r"kolors",
            r"\bdeepfloyd\b|\bif-i\b",
            r"z-image",
            r"\bqwen-image\b",
            r"\bhidream\b",
            r"\bsana\b",
            r"anything-v\d",
            r"\blcm\b",
            r"\bddpm\b|\bddim\b|\bldm\b|latent diffusion",
            r"\bdit\b",
            r"^ai/comfyui/",
            r"^ai/sd-",
        ),
    ),
)

_VIDEO_FILE = _words(r"\.(mp4|m4v|mov|webm|mkv|avi|mpe?g|ts|3gp|flv|wmv|ogv)$")
_RENDER = _words(
    r"\brender",
    r"\bcg\b",
    r"\bcgi\b",
    r"video[- ]game",
    r"\bgta[- ]?v\b",
    r"gran turismo",
    r"\bblender\b",
    r"\bunreal engine\b",
    r"\b3d (model|scene|render)",
    r"computer graphics",
)
_TEST_GRAPHIC = _words(r"test graphic", r"procedural", r"test pattern", r"test card", r"colou?r chart", r"gradient")
_TEST_GRAPHIC_FILE = _words(r"\blibpng\b", r"pngsuite", r"test[-_ ]?(pattern|card|chart)")
_SCAN = _words(r"\bscan(ned|ner)?\b", r"\bdocument\b", r"\breceipt\b", r"\bfax\b", r"photocop", r"\bscreenshot\b")
_ART = _words(
    r"illustration",
    r"\bpainting\b",
    r"\bdrawing\b",
    r"\bartwork\b",
    r"\bsketch",
    r"\bcomic\b",
    r"\bcartoon\b",
    r"\bdigital art\b",
    r"\bclip ?art\b",
)
_PHOTO = _words(r"\bcamera\b", r"\bphoto", r"\bdslr\b", r"\bexif\b")
# A phone: said in words, or an EXIF Make/Model that only phones carry. "apple" alone is not
# enough (the CNNDetection reals are "horse/zebra/apple/orange" photos).
_PHONE = _words(
    r"(?<!micro)phone\b",
    r"\bmobile\b",
    r"\biphone\b",
    r"\bipad\b",
    r"\bexif apple\b",
    r"\bexif google pixel\b",
    r"\bpixel \d",
    r"\bsamsung sm-",
    r"\bgalaxy [asmz]\d",
    r"\bhmd global\b",
    r"\bnokia \d",
    r"\bjolla\b",
    r"\bxiaomi\b|\bredmi\b",
    r"\bhuawei\b",
    r"\boneplus\b",
    r"\boppo\b",
    r"\bmotorola\b|\bmoto [a-z]\d",
    r"\bsony xperia\b",
)


def part_of(file: str) -> str:
    """The part a manifest path belongs to: the CNNDetection crops or everything else."""
    parts = PurePosixPath(file.replace("\\", "/")).parts
    if len(parts) >= 2 and parts[0] in {"ai", "real"} and parts[1] == "cnndetection":
        return CNNDETECTION_PART
    return RECENT_PART


def _ai_family(file: str, generator: str, notes: str) -> str:
    # A video stays a video whichever model made it (an animated WebP's frame is analysed as an
    # image, but it is a video model's frame). Otherwise the generator column says what made the
    # file; notes and path count only when it names nothing known.
    texts = (generator, notes, file)
    video = _AI_RULES[0][1]
    if any(video.search(text) for text in texts) or _VIDEO_FILE.search(file):
        return "video model"
    for text in texts:
        for family, pattern in _AI_RULES[1:]:
            if text and pattern.search(text):
                return family
    return OTHER_AI


def _human_family(file: str, generator: str, notes: str) -> str:
    # A render's notes often add "NOT camera photos": the generator decides first, notes only
    # when the generator does not say it is a camera photo.
    says_photo = bool(_PHOTO.search(generator))
    if _RENDER.search(generator) or (not says_photo and _RENDER.search(notes)):
        return "render/CG"
    if (_TEST_GRAPHIC.search(generator) and not says_photo) or _TEST_GRAPHIC_FILE.search(file):
        return "test graphic"
    if _SCAN.search(generator) or (not says_photo and _SCAN.search(notes)):
        return "scan/document"
    if _ART.search(generator) or (not says_photo and _ART.search(notes)):
        return "art/illustration"
    if _PHONE.search(generator) or _PHONE.search(notes):
        return "phone photo"
    if says_photo or _PHOTO.search(notes):
        return "camera photo"
    return OTHER_HUMAN


def family_of(file: str, generator: str, notes: str, label: str) -> str | None:
    """The family of a labelled manifest row, from its text alone; ``None`` when it is not
    labelled ``human`` or ``artificial`` (such rows are never scored)."""
    label = label.strip().lower()
    if label == "artificial":
        return _ai_family(file, generator, notes)
    if label == "human":
        return _human_family(file, generator, notes)
    return None


def family_label(family: str) -> str:
    """The class a family belongs to (``artificial`` or ``human``)."""
    return "artificial" if family in AI_FAMILIES or family == OTHER_AI else "human"


__all__ = [
    "AI_FAMILIES",
    "CNNDETECTION_PART",
    "FAMILIES",
    "HUMAN_FAMILIES",
    "OTHER_AI",
    "OTHER_HUMAN",
    "PARTS",
    "RECENT_PART",
    "family_label",
    "family_of",
    "part_of",
]
