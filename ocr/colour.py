"""Scans whose pixels a PDF/A page or Tesseract cannot take as they are.

A CMYK or CIELab scan, or a 16-bit grey one, is valid input, not damage. The original file
is archived byte for byte; the PDF/A page and the OCR copy are made from its pixels:

* CMYK and Lab become sRGB in the PDF/A. PDF/A-2 allows DeviceCMYK only beside a CMYK
  output intent, and the archive's PDF/A carries sRGB (one output intent per file, and no
  CMYK profile is known for an arbitrary scan); Lab would need its white point and ranges
  carried over exactly. The conversion is lossless from the decoded pixels on (stored as
  PNG data), through the scan's own ICC profile when it has one.
* 16-bit grey keeps its 16 bits in the PDF/A (BitsPerComponent 16, PDF 1.5 and later);
  Tesseract reads the top 8.
"""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image, ImageCms

log = logging.getLogger(__name__)

SIXTEEN_BIT_GREY = ("I;16", "I;16B", "I;16L", "I;16N")
# Modes a page image is converted from (or kept at 16 bits) before img2pdf sees it.
CONVERTED_MODES = ("CMYK", "LAB", *SIXTEEN_BIT_GREY)


def to_srgb(image: Image.Image) -> Image.Image:
    """A CMYK or Lab image as sRGB; any other mode is returned unchanged."""
    if image.mode == "LAB":
        transform = ImageCms.buildTransform(
            ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")
        return ImageCms.applyTransform(image, transform)
    if image.mode == "CMYK":
        profile = image.info.get("icc_profile")
        if profile:
            try:
                source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
                transform = ImageCms.buildTransform(source, ImageCms.createProfile("sRGB"), "CMYK", "RGB")
                return ImageCms.applyTransform(image, transform)
            except (ImageCms.PyCMSError, OSError, ValueError) as error:
                # A broken embedded profile: the plain conversion still shows the page.
                log.info("CMYK scan's ICC profile unusable (%s): plain conversion", error)
        return image.convert("RGB")
    return image


def archival_frame(image: Image.Image) -> Image.Image:
    """The frame as the PDF/A page will store it: sRGB for CMYK and Lab, 16-bit grey as it is."""
    if image.mode in SIXTEEN_BIT_GREY and image.mode != "I;16":
        # Pillow writes 16-bit PNG data (what img2pdf embeds) from I;16 only.
        return Image.fromarray(np.asarray(image).astype(np.uint16))
    return to_srgb(image)


def ocr_pixels(image: Image.Image) -> np.ndarray:
    """The frame as grey (L) or RGB pixels for the OCR copy."""
    if image.mode in SIXTEEN_BIT_GREY or image.mode == "I":
        # Scanner 16-bit grey spans 0..65535: its top byte is the 8-bit reading.
        wide = np.asarray(image).astype(np.uint32)
        return (np.clip(wide, 0, 65535) >> 8).astype(np.uint8)
    if image.mode in ("CMYK", "LAB"):
        image = to_srgb(image)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB" if image.mode in ("RGBA", "P", "PA", "YCbCr", "RGBX") else "L")
    return np.asarray(image)
