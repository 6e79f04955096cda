rule Fixture_NoMeta
{
    strings:
        $a = "TOM-Skype"
    condition:
        $a
}

rule Fixture_BadMeta
{
    meta:
        description = "bad values"
        reference = "https://example.org/fixture"
        date = "23/11/2026"
        category = "spyware"
        severity = "urgent"
        example = "tom-en-5.1.4.10-nsis"
    strings:
        $a = "TOM Online"
    condition:
        $a
}
