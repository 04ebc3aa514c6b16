"""The beneficiary's statement as a PDF (fpdf2, pure Python), laid out from its words.

Nothing is decided here: the words, the order and what is shown are the `StatementText`'s
(`hub.disclosures.statement`); this module only sets them on A4 pages. The font is a subset of
DejaVu Sans shipped beside this module (fonts/LICENSE): fpdf2's built-in fonts are Latin-1
only, so « é », « œ » or a name with « Ɓ » would not print, and a system font is not on every
machine.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from hub.disclosures.statement import StatementText

if TYPE_CHECKING:
    from fpdf import FPDF

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVuSans"
# the table's columns on an A4 page's 180 mm: when, who, what, why, under which consent
WIDTHS = (30, 36, 38, 32, 44)
GREY = (80, 90, 95)


@cache
def _statement_pdf() -> type[FPDF]:
    """The document class, made the first time a statement is rendered: fpdf2 is imported
    then, not with the web application (it was a tenth of the app's import time, for one
    route of the API and one of the console)."""
    from fpdf import FPDF

    class _StatementPDF(FPDF):
        def __init__(self, text: StatementText) -> None:
            super().__init__(orientation="portrait", unit="mm", format="A4")
            self.text = text

        def footer(self) -> None:
            self.set_y(-14)
            self.set_font(FAMILY, size=8)
            self.set_text_color(*GREY)
            # "{nb}": fpdf2 puts the page count in its place when the document is made
            page = str(self.page_no())
            words = self.text.page_of.replace("{page}", page).replace("{pages}", "{nb}")
            self.cell(0, 6, words, align="C")

    return _StatementPDF


def attachment(reference: str) -> str:
    """The `Content-Disposition` of a statement: `statement-<reference>.pdf`, the reference
    kept to what any file system accepts (a reference, never a name: a file's name shows in
    download lists)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", reference).strip("-") or "case"
    return f'attachment; filename="statement-{safe}.pdf"'


def render(text: StatementText) -> bytes:
    """The statement as the bytes of a PDF document."""
    from fpdf.fonts import FontFace

    pdf = _statement_pdf()(text)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    # the document's own title is the statement's, never a name
    pdf.set_title(text.title)
    pdf.set_lang(text.language)
    pdf.set_creator("Referral hub")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()

    pdf.set_font(FAMILY, "B", 16)
    pdf.multi_cell(0, 8, text.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(FAMILY, size=10)
    for paragraph in text.lead:
        pdf.multi_cell(0, 5, paragraph, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    for term, value in text.facts:
        pdf.set_font(FAMILY, "B", 10)
        pdf.cell(45, 6, term)
        pdf.set_font(FAMILY, size=10)
        pdf.multi_cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    if text.rows:
        pdf.set_font(FAMILY, size=9)
        with pdf.table(
            col_widths=WIDTHS,
            text_align="LEFT",
            v_align="TOP",
            line_height=4.6,
            padding=1.5,
            headings_style=FontFace(emphasis="BOLD", fill_color=(229, 230, 231)),
            repeat_headings=1,
        ) as table:
            table.row(list(text.headings))
            for cells in text.rows:
                row = table.row()
                for lines in cells:
                    row.cell("\n".join(lines))
    else:
        pdf.set_font(FAMILY, "B", 11)
        pdf.multi_cell(0, 6, text.empty, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font(FAMILY, size=9)
    pdf.set_text_color(*GREY)
    for paragraph in text.closing:
        pdf.multi_cell(0, 4.6, paragraph, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
    return bytes(pdf.output())
