// A rule that meets every standard: the lints must say nothing about it.
rule Fixture_Clean : endpoint
{
    meta:
        description = "clean fixture"
        reference = "https://example.org/fixture"
        date = "2026-11-23"
        category = "endpoint"
        severity = "low"
        example = "tom-en-5.1.4.10-nsis"
    strings:
        $host = "skypetools.tom.com" ascii wide nocase
        $re = /\/agent\/keyfile(_u)?[^a-z]{0,8}/ ascii
        $hex = { 4D 5A 90 00 [0-16] 50 45 00 00 }
    condition:
        $host and ($re or #hex > 0)
}
