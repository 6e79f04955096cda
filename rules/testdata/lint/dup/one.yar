rule Fixture_Twice
{
    meta:
        description = "first definition"
        reference = "https://example.org/fixture"
        date = "2026-11-23"
        category = "identity"
        severity = "info"
        example = "tom-en-5.1.4.10-nsis"
    strings:
        $a = "TOM-Skype"
    condition:
        $a
}
