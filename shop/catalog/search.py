"""Product search that behaves the same on SQLite and PostgreSQL.

Neither database segments Chinese, and their full-text engines differ, so matching is a plain substring
LIKE over text normalised here, in Python, once per write:

    product.search_name  name only:             "巫山脆李 wushancuili wscl"
    product.search_text  name, subtitle, description, supplier name, origin district name, each as
                         "<text> <full pinyin> <initials>"

Every piece is lower-cased with whitespace removed and pieces are joined by one space; the query is
lower-cased with all whitespace removed, so a query never matches across two pieces, and "cui li" finds
"cuili". On PostgreSQL a pg_trgm GIN index on each column makes `LIKE '%...%'` indexable; on SQLite an FTS5
trigram table (catalog.models.SQLITE_SEARCH_INDEX_DDL) finds the candidate rows. Either index only narrows: the
LIKE decides, so both databases answer exactly the same rows.
"""
from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin, load_phrases_dict
from sqlalchemy import and_, case, column, func, literal, select, table, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from shop.catalog.models import Product

# Place names pypinyin gets wrong with its default readings (丰都 would come out "fengdou").
load_phrases_dict({"丰都": [["fēng"], ["dū"]], "长寿": [["cháng"], ["shòu"]], "巫溪": [["wū"], ["xī"]]})

MAX_QUERY_LENGTH = 64
_WHITESPACE = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def normalise(text: str | None) -> str:
    """Full-width to half-width (NFKC), lower case, no whitespace."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def _romanised(text: str, style: Style) -> str:
    # Punctuation between syllables would stop "wushancuili" matching "巫山·脆李": keep letters and digits only.
    return _NOT_ALNUM.sub("", "".join(lazy_pinyin(text, style=style)).lower())


def index_terms(text: str | None) -> str:
    """'巫山 脆李' → '巫山脆李 wushancuili wscl' (pure ASCII text is not repeated)."""
    compact = normalise(text)
    if not compact:
        return ""
    pieces = [compact]
    if compact.isascii():
        return compact
    for piece in (_romanised(compact, Style.NORMAL), _romanised(compact, Style.FIRST_LETTER)):
        if piece and piece not in pieces:
            pieces.append(piece)
    return " ".join(pieces)


def search_name_for(name: str) -> str:
    return index_terms(name)


def search_text_for(*, name: str, subtitle: str = "", description: str = "", supplier_name: str = "",
                    district_name: str = "") -> str:
    return " ".join(t for t in (index_terms(v) for v in (name, subtitle, description, supplier_name, district_name))
                    if t)


def grams_of(search_text: str) -> list[str]:
    """Every two-character run of Chinese characters in the search text, sorted and unique."""
    grams = set()
    for run in _CJK_RUN.findall(search_text or ""):
        grams.update(run[i:i + 2] for i in range(len(run) - 1))
    return sorted(grams)


def reindex(product: Product, *, supplier_name: str, district_name: str) -> None:
    """Recompute the search columns; callers hold the product's supplier and district."""
    product.search_name = search_name_for(product.name)
    product.search_text = search_text_for(name=product.name, subtitle=product.subtitle or "",
                                          description=product.description or "", supplier_name=supplier_name,
                                          district_name=district_name)
    product.search_grams = grams_of(product.search_text)


def query_needle(q: str | None) -> str | None:
    """The normalised query, or None when nothing is left to search for."""
    needle = normalise(q)[:MAX_QUERY_LENGTH]
    return needle or None


def matches(needle: str, dialect: str):
    """WHERE clause: anywhere in the searchable text. autoescape: a user's % and _ match literally.
    On PostgreSQL a two-character Chinese needle first narrows by the GIN-indexed grams (pg_trgm has no
    trigram for it); on SQLite every needle narrows by the FTS5 trigram table. The LIKE stays, so both
    databases answer exactly the same rows."""
    like = Product.search_text.contains(needle, autoescape=True)
    if dialect == "postgresql" and len(needle) == 2 and _CJK_RUN.fullmatch(needle):
        return and_(type_coerce(Product.search_grams, JSONB).contains([needle]), like)
    if dialect == "sqlite" and "\x00" not in needle:  # FTS5 ends a string at NUL (the API refuses NUL anyway)
        return and_(Product.id.in_(select(_fts.c.rowid).where(_fts.c.search_text.match(fts_query(needle)))), like)
    return like


_fts = table("product_search", column("rowid"), column("search_text"))
_fts_terms = table("product_search_terms", column("term"))


def _phrase(text):
    """An FTS5 string: whatever the user typed (", *, NEAR, AND, :, ^ ...) is literal text inside double quotes,
    where only a double quote needs escaping (doubled)."""
    return '"' + text.replace('"', '""') + '"'


def fts_query(needle: str):
    """The FTS5 MATCH expression for a needle. From 3 characters on, the phrase of its trigrams. Shorter, no
    trigram of its own: any indexed trigram it begins (the index pads each text so that every character begins
    one), those trigrams read from the vocabulary by a range on the term, inside the same statement."""
    if len(needle) >= 3:
        return literal(_phrase(needle))
    quoted = literal('"').concat(func.replace(_fts_terms.c.term, '"', '""')).concat('"')
    # No trigram begins with it: an empty phrase, which matches nothing.
    terms = select(func.coalesce(func.group_concat(quoted, " OR "), '""')).where(_fts_terms.c.term >= needle)
    above = _successor(needle)
    return (terms if above is None else terms.where(_fts_terms.c.term < above)).scalar_subquery()


def _successor(text: str) -> str | None:
    """The least string above every string that starts with `text` (code point order is UTF-8 byte order, the
    order of FTS5 terms); None when there is none (text is all U+10FFFF, the last character)."""
    following = ord(text[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are no characters: skip to the next one
        following = 0xE000
    if following > 0x10FFFF:
        return _successor(text[:-1]) if len(text) > 1 else None
    return text[:-1] + chr(following)


def rank(needle: str):
    """0 for a name match, 1 otherwise: the first sort key, so name matches come first."""
    return case((Product.search_name.contains(needle, autoescape=True), 0), else_=1)


def rank_of(product: Product, needle: str) -> int:
    """The same rank computed on a loaded row, for the keyset cursor (LIKE on lower-cased text == `in`)."""
    return 0 if needle in (product.search_name or "") else 1
