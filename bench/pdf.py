"""PDF text extraction: PDFium (pypdfium2, what kind = "pdf" uses) against pypdf (and pdfminer.six if installed).

Prints milliseconds per 40-page policy and the ratio against PDFium; checks the libraries read the same text.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from bot.demo.pdfwriter import write_pdf
from watchers.reading.pdf import pdf_pages

PAGES = [
    [
        f"Cross-Cloud Policy v3.2.1 section {page}.{line}: register deals 72 hours before the RFP (signed LOI)."
        for line in range(50)
    ]
    for page in range(40)
]
RUNS = 3


def with_pypdf(body: bytes) -> list[str]:
    import pypdf

    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages]


def with_pdfminer(body: bytes) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer

    pages = extract_pages(io.BytesIO(body))
    return ["".join(e.get_text() for e in page if isinstance(e, LTTextContainer)) for page in pages]


def timed(read: Callable[[bytes], list[str]], body: bytes) -> tuple[float, list[str]]:
    read(body)  # warm imports
    start = time.perf_counter()
    for _ in range(RUNS):
        pages = read(body)
    return (time.perf_counter() - start) / RUNS * 1000, pages


def main() -> None:
    body = write_pdf(PAGES, title="bench")
    base, reference = timed(pdf_pages, body)
    print(f"pypdfium2 (kind = pdf): {base:7.1f} ms per {len(PAGES)}-page PDF")
    for name, read in (("pypdf", with_pypdf), ("pdfminer.six", with_pdfminer)):
        try:
            ms, pages = timed(read, body)
        except ImportError:
            print(f"{name}: not installed, skipped")
            continue
        same = [" ".join(p.split()) for p in pages] == [" ".join(p.split()) for p in reference]
        print(f"{name:12}: {ms:7.1f} ms ({ms / base:.1f}× PDFium's time; same text: {same})")


if __name__ == "__main__":
    main()
