from __future__ import annotations

import pytest

from core.medium import GSM7_BASIC, GSM7_EXTENSION, SegmentInfo, count_segments, is_gsm7


def test_tables_have_the_standard_sizes() -> None:
    # 128 positions minus the escape (0x1B); 10 extension characters we accept.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentInfo("GSM-7", 0, 1)),
        ("Hello", SegmentInfo("GSM-7", 5, 1)),
        ("a" * 160, SegmentInfo("GSM-7", 160, 1)),
        ("a" * 161, SegmentInfo("GSM-7", 161, 2)),
        ("a" * 306, SegmentInfo("GSM-7", 306, 2)),
        ("a" * 307, SegmentInfo("GSM-7", 307, 3)),
        ("€" * 80, SegmentInfo("GSM-7", 160, 1)),  # extension: two septets each
        ("€" * 81, SegmentInfo("GSM-7", 162, 2)),
        ("a" * 159 + "{", SegmentInfo("GSM-7", 161, 2)),
        # 306 septets fit 2 parts by division, but the escape pair after septet 152
        # may not straddle the boundary, so a third part is needed.
        ("a" * 152 + "[" + "a" * 152, SegmentInfo("GSM-7", 306, 3)),
        ("Kazi: kazi mpya! Jibu 1 au 2.", SegmentInfo("GSM-7", 29, 1)),
        ("à bientôt", SegmentInfo("UCS-2", 9, 1)),  # ô is not GSM-7
        ("é è ù ì ò à Ç ñ ü", SegmentInfo("GSM-7", 17, 1)),
        ("Hi “quoted”", SegmentInfo("UCS-2", 11, 1)),  # curly quotes force UCS-2
        ("ж" * 70, SegmentInfo("UCS-2", 70, 1)),
        ("ж" * 71, SegmentInfo("UCS-2", 71, 2)),
        ("ж" * 134, SegmentInfo("UCS-2", 134, 2)),
        ("ж" * 135, SegmentInfo("UCS-2", 135, 3)),
        ("😀" * 35, SegmentInfo("UCS-2", 70, 1)),  # emoji = 2 UTF-16 units
        ("😀" * 36, SegmentInfo("UCS-2", 72, 2)),
        # Likewise a surrogate pair is never split: 134 units, yet 3 parts.
        ("ж" * 66 + "😀" + "ж" * 66, SegmentInfo("UCS-2", 134, 3)),
        ("{" + "ж", SegmentInfo("UCS-2", 2, 1)),  # in UCS-2 "{" is a single unit
    ],
)
def test_segment_table(text: str, expected: SegmentInfo) -> None:
    assert count_segments(text) == expected


def test_escape_character_itself_is_not_gsm7() -> None:
    assert not is_gsm7("\x1b")
    assert is_gsm7("\n\r@£$")


def test_look_alikes_become_gsm7_and_nothing_else_changes() -> None:
    from core.medium import GSM7_LOOKALIKES, count_segments, is_gsm7, to_gsm7

    text = "It\u2019s \u201cdone\u201d \u2014 really\u2026 ok \u2013 fine\u00a0now"
    assert count_segments(text).encoding == "UCS-2"
    assert to_gsm7(text) == 'It\'s "done" - really... ok - fine now'
    assert count_segments(to_gsm7(text)).encoding == "GSM-7"
    assert all(is_gsm7(twin) for twin in GSM7_LOOKALIKES.values())
    assert not any(is_gsm7(ch) for ch in GSM7_LOOKALIKES)
    # Letters are not look-alikes: a French or Swahili word keeps its accents.
    assert to_gsm7("être payé, ça") == "être payé, ça"
