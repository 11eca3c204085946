"""A minimal PDF writer (text pages in Helvetica), so the demo and the tests need no PDF library to make one."""

from __future__ import annotations

from collections.abc import Sequence


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(pages: Sequence[Sequence[str]], *, title: str = "") -> bytes:
    """A valid PDF 1.4 file with one page per item, each line of text on its own row.

    A page given as no lines gets a grey rectangle instead of text: what a scanned, image-only page looks like
    to a text extractor.
    """
    objects: list[bytes] = []  # object n is objects[n - 1]
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{n} 0 R" for n in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for page_id, lines in zip(page_ids, pages, strict=True):
        if lines:
            rows = ["BT", "/F1 11 Tf", "14 TL", "56 780 Td"]
            rows += [f"({_escape(line)}) Tj T*" for line in lines]
            rows.append("ET")
        else:
            rows = ["0.8 g", "56 400 480 360 re f"]
        stream = "\n".join(rows).encode("cp1252", errors="replace")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {page_id + 1} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    info = len(objects) + 1
    objects.append(f"<< /Title ({_escape(title)}) /Producer (huawei-whisperer) >>".encode("cp1252", errors="replace"))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    size = len(objects) + 1
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, info, xref)
    return bytes(out)
