#!/usr/bin/env python3
"""jpeg_reference.py — PIL's JPEG decoding (Pillow on Debian links libjpeg-turbo) for test_image_decode.
  jpeg_reference.py variants SRC.jpg DIR   re-encode SRC as DIR/progressive.jpg, grey.jpg, cmyk.jpg
                                           (Adobe, inverted), s444.jpg and s422.jpg (chroma subsampling)
  jpeg_reference.py decode OUT PATH...     OUT: per image "W H\\n" then W*H*3 bytes of
                                           Image.open(PATH).convert("RGB")
Exit 77 when PIL cannot be imported.
"""
import os
import sys

try:
    from PIL import Image
except ImportError as e:
    print("jpeg_reference: %s" % e, file=sys.stderr)
    sys.exit(77)


def variants(src, out):
    img = Image.open(src).convert("RGB")
    img.save(os.path.join(out, "progressive.jpg"), quality=90, progressive=True)
    img.convert("L").save(os.path.join(out, "grey.jpg"), quality=90)
    img.convert("CMYK").save(os.path.join(out, "cmyk.jpg"), quality=90)
    img.save(os.path.join(out, "s444.jpg"), quality=95, subsampling=0)
    img.save(os.path.join(out, "s422.jpg"), quality=95, subsampling=1)


def decode(out, paths):
    with open(out, "wb") as f:
        for p in paths:
            img = Image.open(p).convert("RGB")
            f.write(b"%d %d\n" % img.size)
            f.write(img.tobytes())


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "variants":
        variants(a[1], a[2])
    elif len(a) >= 2 and a[0] == "decode":
        decode(a[1], a[2:])
    else:
        sys.exit(__doc__)
