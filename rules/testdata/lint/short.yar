rule Fixture_ShortAtoms
{
    meta:
        description = "strings too short to make atoms"
        reference = "https://example.org/fixture"
        date = "2026-11-23"
        category = "identity"
        severity = "info"
        example = "tom-en-5.1.4.10-nsis"
    strings:
        $two = "ab"
        $regex = /a.b.c/
        $hex = { 4D ?? 5A ?? 90 }
    condition:
        any of them
}
