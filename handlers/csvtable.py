"""Spreadsheet exports read alike: a header naming the columns, then rows numbered as the file's lines."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class CsvTable:
    """A CSV file's header, each header cell's column (None: not one of ours), and its rows by line number."""

    header: tuple[str, ...]
    columns: tuple[str | None, ...]
    _reader: Iterator[list[str]]
    _line: Callable[[], int]

    @property
    def ignored(self) -> list[str]:
        """Header cells that name none of our columns (typos, extras), to report."""
        return [h.strip() for h, c in zip(self.header, self.columns, strict=True) if c is None and h.strip()]

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, {column: stripped cell}) for every row that is not blank."""
        for cells in self._reader:
            if any(cell.strip() for cell in cells):
                yield self._line(), {c: cells[i].strip() for i, c in enumerate(self.columns) if c and i < len(cells)}


def read_table(text: str, column_of: Callable[[str], str | None]) -> CsvTable | None:
    """The table in `text` (a leading BOM ignored); None when the file has no header at all."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        return None
    return CsvTable(tuple(header), tuple(column_of(h) for h in header), reader, lambda: reader.line_num)
